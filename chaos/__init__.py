"""The chaos suite: the real stack (gunicorn, a 2-process Celery worker, beat) on its own
PostgreSQL and Redis, driven over HTTP while real faults happen — kill -9 of worker
processes, Redis stopped and restarted, PostgreSQL stopped and its backends terminated, a
webhook receiver that fails, stalls and goes away — then checked against the database.

`make chaos` (`python -m chaos`) runs every scenario at full length and writes
docs/reliability.md; `python -m chaos --short` is the short version `make test` runs
(tests/chaos). Nothing here mocks: the figures are what the processes did.

The invariants (the issue's done-when): no event answered 2xx is lost, none stored twice,
every conflicting re-send reported, no 5xx but those in flight while PostgreSQL itself
stops, the work queue drained within 60 s of the last fault, ≥ 99.9 % 2xx while Redis is
down.
"""
