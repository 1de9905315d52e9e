"""Compliance: a person's data on request, retention and purge."""
