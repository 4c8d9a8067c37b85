"""Figures and tables for people: the only part of the package that draws."""
