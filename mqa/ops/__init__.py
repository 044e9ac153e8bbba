"""Running the service: liveness and readiness (`/healthz`, `/readyz`) and the worker heartbeat.

`checks` reads (the database, Redis, the heartbeat, the pipeline's lag) and records the
heartbeat; `views` are the probes' entry points.
"""
