"""Funnel and calibration reports: pure arithmetic (`funnel`, `calibration`) and their loaders
(`selectors`, `backtest`, which scores through `mqa.services.dry_run`; nothing is stored)."""
