"""The scenario file format and its loader."""
