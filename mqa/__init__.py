"""MQL / MQA scoring, routing and feedback (SPEC §1), in layers read top to bottom:

* entry points — `api/`, `admin/`, `review/`, `tasks.py`, `management/`: parse input, call
  one service or selector, shape output;
* orchestration — `services/pipeline.py` (the drain: claim → score → announce → release),
  `services/rescore.py` (a publish's rescore, time passing), `services/model_versions.py`,
  imports, previews and `reports/`;
* steps — `services/scores.py` (picks the store once), `services/announce.py` (routing,
  handoffs, the webhook outbox), ingest (`accounts.services`, `contacts.services`), feedback;
* stores — `services/stores/` (record by record, set-based SQL), `services/work_queue.py`;
* ground — `models/`, `ingest.py`, `batch.py`, `schemas.py`, `selectors.py`, `dispatch.py`
  (the one seam for sending tasks), and the pure core `scoring/`, `routing/`, `bulk/`.

A module imports only from its own layer's leaves or below; `make lint` checks it
(import-linter contracts in pyproject.toml).
"""
