"""Readers for published statistics (one module per publisher format) and the panel they build."""
