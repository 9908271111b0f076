"""Alembic migrations of the workspace database (run programmatically at start)."""
