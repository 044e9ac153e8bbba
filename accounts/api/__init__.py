"""REST views of accounts (entry points)."""
