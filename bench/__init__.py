"""National-scale benchmark (issue 9): bulk seeding and timed requests."""
