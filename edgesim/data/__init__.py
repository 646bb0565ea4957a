"""Data files shipped with edgesim."""
