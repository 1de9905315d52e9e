"""Juries: sessions and registration, composition, deliberation and closing, what a jury hands to the documents."""
