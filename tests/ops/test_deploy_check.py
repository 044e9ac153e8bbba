"""`manage.py check --deploy` with the production environment docs/deploy.md documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SECRET_KEY": "k3y-for-the-deploy-check-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "mqa.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://mqa.example.com",
    "DJANGO_SECURE_PROXY": "true",
    "DJANGO_HSTS_PRELOAD": "true",
}


def check_deploy(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_documented_production_environment_passes_the_deploy_check(tmp_path):
    result = check_deploy(tmp_path, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_without_the_tls_proxy_settings_the_deploy_check_warns(tmp_path):
    plain = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECURE_PROXY"}

    result = check_deploy(tmp_path, **plain)

    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
