"""The CSV column-mapping document of `import_csv` (parsing and cell conversion; no storage)."""
