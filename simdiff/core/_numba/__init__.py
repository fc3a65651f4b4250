"""Compiled stepping loops (imported on the first compiled solve)."""
