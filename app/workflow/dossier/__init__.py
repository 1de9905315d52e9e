"""The dossier's life: candidates, creation and moves, abandon, rattachement, VAE."""
