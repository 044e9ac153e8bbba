"""Test overrides: a throwaway secret and fast password hashing; the rest from the environment."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")
# The suite runs on one test database; a replica is tested against a real one of its own
# (tests/integration/test_replica.py), never through a developer's exported setting.
os.environ.pop("DATABASE_REPLICA_URL", None)

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Live-server request threads must not keep connections open past the test run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Pages render without a `collectstatic` manifest; the production storage is tested by serving.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
