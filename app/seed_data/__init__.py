"""Données de référence (pures, sans dépendance) utilisées pour initialiser OpenCertif."""
