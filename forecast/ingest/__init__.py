"""Readers for published statistics (one module per publisher format), the panel they build
(the canonical Dataset every later stage reads) and the exceptional-events register it carries."""
