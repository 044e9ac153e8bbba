"""Services write (HackSoft style): orchestration, steps and stores of the scoring path.

Orchestration (`pipeline`, `rescore`, `model_versions`, `csv_import`, `preview`) may import
steps and stores; steps (`scores`, `announce`, `handoffs`, `dry_run`) may import `routing`,
`webhooks`, the stores and below; stores (`stores/`, `work_queue`) import only models,
`mqa.selectors`, loaders (`facts`) and the pure core. Nothing here imports `mqa.tasks`:
tasks are sent through `mqa.dispatch`.
"""
