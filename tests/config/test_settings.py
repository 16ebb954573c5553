"""The production profile passes Django's deployment checks; the laptop profile needs no configuration."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*arguments: str, **environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment}
    return subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_profile_passes_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        LANTERN_ENV="production",
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="lantern.example.com",
        LANTERN_CREDENTIAL_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_without_credential_keys_fails_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        LANTERN_ENV="production",
        DJANGO_SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="lantern.example.com",
        LANTERN_CREDENTIAL_ENCRYPTION_KEYS="",
    )
    assert result.returncode != 0
    assert "LANTERN_CREDENTIAL_ENCRYPTION_KEYS is not set" in result.stderr + result.stdout


def test_production_profile_refuses_to_start_without_a_secret_key():
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**environment, "LANTERN_ENV": "production"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_laptop_profile_runs_with_no_environment():
    result = run_manage("check")
    assert result.returncode == 0, result.stderr
