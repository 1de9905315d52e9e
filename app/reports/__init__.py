"""Documents, exports and statistics."""
