"""Evaluations: what is common, CléA's, the metallurgy commission's."""
