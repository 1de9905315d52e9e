"""Roles, perimeters, the security manager and signed links."""
