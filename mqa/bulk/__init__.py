"""The scoring model compiled to SQL for the set-based store (PostgreSQL).

Pure: builds statement text and parameters from `mqa.scoring` types; imports nothing of
Django. Held equal to the pure engine by property tests (tests/bulk/)."""
