"""Accounts and account signals (SPEC §2): models, ingest schemas, ingest services, selectors,
api/. Ingest writes data and its work rows (`mqa.services.work_queue`) in one transaction and
never imports the drain, the rescore or the tasks."""
