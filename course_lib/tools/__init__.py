"""Instructor tooling: building and grading the notebooks (nothing here is imported by a student notebook)."""
