"""REST views of contacts (entry points)."""
