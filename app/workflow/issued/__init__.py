"""Issued documents: numbering, frozen data, PDF, verification, batches."""
