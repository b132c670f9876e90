"""Production readiness: ``check --deploy`` is clean, secrets come from the environment only,
and the container files (docker-compose.yml, Dockerfile) describe the whole stack."""

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_ENV = {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "PII_KEYS", "ALLOWED_HOSTS"}


def _pii_keys():
    return json.dumps(
        {
            "keys": {"k1": base64.b64encode(os.urandom(32)).decode()},
            "active": "k1",
            "index_key": base64.b64encode(os.urandom(32)).decode(),
        }
    )


def _manage(args, tmp_path, **env):
    """Run ``manage.py`` with production settings in a clean environment."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "PII_KEYS", "DEBUG", "SANDBOX", "DJANGO_SETTINGS_MODULE"}
    }
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        AFTERSALES_VAR_DIR=str(tmp_path / "var"),
    )
    base.update(env)
    base = {k: v for k, v in base.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_check_deploy_passes_without_any_warning(tmp_path):
    result = _manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        SECRET_KEY=secrets.token_urlsafe(50),
        PII_KEYS=_pii_keys(),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output.upper().replace("--FAIL-LEVEL WARNING", "")


GOOD_KEY = secrets.token_urlsafe(50)


@pytest.mark.parametrize(
    ("secret_key", "pii_keys", "message"),
    [
        (None, "valid", "SECRET_KEY must be set"),
        ("short", "valid", "at least 50"),
        (GOOD_KEY, None, "PII_KEYS must be set"),
        (GOOD_KEY, '{"keys": {}}', "not a valid key ring"),
    ],
    ids=["no-secret-key", "short-secret-key", "no-pii-keys", "empty-key-ring"],
)
def test_production_refuses_to_start_without_secrets(tmp_path, secret_key, pii_keys, message):
    pii_keys = _pii_keys() if pii_keys == "valid" else pii_keys
    result = _manage(["check"], tmp_path, SECRET_KEY=secret_key, PII_KEYS=pii_keys)
    assert result.returncode != 0
    assert message in result.stderr
    # Nothing was generated in their place.
    var = tmp_path / "var"
    assert not (var / "secret_key").exists() and not (var / "pii_keys.json").exists()


def test_no_secret_is_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    files = tracked.stdout.split()
    assert files, "git ls-files listed nothing"
    assert not [f for f in files if f.startswith("var/")]
    assert not [
        f
        for f in files
        if Path(f).name in {"secret_key", "pii_keys.json", ".env", "demo_api_keys.json"}
    ]
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert "var/" in gitignore


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_whole_stack_with_health_checks():
    services = _compose()["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], f"{name} has no health check"
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert "worker" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in " ".join(services["redis"]["healthcheck"]["test"])


def test_compose_app_services_read_the_same_environment():
    services = _compose()["services"]
    envs = [services[name]["environment"] for name in ("web", "worker", "beat")]
    for env in envs:
        assert APP_ENV <= set(env)
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"].startswith("redis://redis:")
        # Secrets come from the environment (.env), never written into the file.
        assert env["SECRET_KEY"].startswith("${") and env["PII_KEYS"].startswith("${")
    assert envs[0] == envs[1] == envs[2]


def test_dockerfile_builds_the_app_and_collects_static_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.12-slim" in dockerfile
    assert "collectstatic" in dockerfile
    assert "pip install" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"var", ".venv", ".git", ".env"} <= set(ignored)


def test_gunicorn_config_serves_the_wsgi_app(monkeypatch):
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    namespace = {}
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102
    assert namespace["wsgi_app"] == "config.wsgi:application"
    assert namespace["workers"] >= 1
    assert namespace["threads"] == 1  # sync workers
    monkeypatch.setenv("GUNICORN_THREADS", "2")
    exec((ROOT / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102
    assert namespace["threads"] == 2


def test_every_beat_entry_names_a_registered_task():
    """A typo in the static beat schedule would send a task no worker knows: every entry of
    ``config/celery.py`` must name a task the worker registers (autodiscovered ``tasks.py``)."""
    from config.celery import app

    app.loader.import_default_modules()
    registered = set(app.tasks)
    missing = {
        name: entry["task"]
        for name, entry in app.conf.beat_schedule.items()
        if entry["task"] not in registered
    }
    assert not missing


@pytest.mark.parametrize(
    ("flag", "expected"),
    [(None, "True 2"), ("0", "None None")],
)
def test_postgresql_statements_are_prepared_unless_turned_off(flag, expected):
    """PostgreSQL plans each statement once per connection (server-side binding, prepared on
    its second run); DB_PREPARED_STATEMENTS=0 leaves Django's default (no prepared statements,
    for a pooler in transaction mode)."""
    env = {k: v for k, v in os.environ.items() if k != "DB_PREPARED_STATEMENTS"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused",
    )
    if flag is not None:
        env["DB_PREPARED_STATEMENTS"] = flag
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "o = settings.DATABASES['default'].get('OPTIONS', {}); "
        "print(o.get('server_side_binding'), o.get('prepare_threshold'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == expected


@pytest.mark.django_db
def test_a_repeated_query_runs_as_a_prepared_statement():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from aftersales.tenancy.models import Merchant

    for _ in range(3):
        list(Merchant.objects.filter(pk=-1))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] >= 1


def test_the_production_like_run_shows_no_debug_page_and_serves_no_media(tmp_path):
    """README, "Production-like run": the production settings, with plain HTTP as `make run`
    serves it. A missing page and a media path answer the platform's 404, never Django's debug
    page; uploads are answered only by views that check access (issue 19)."""
    script = (
        "import django; django.setup(); from django.test import Client; "
        "from django.core.management import call_command; "
        "call_command('collectstatic', interactive=False, verbosity=0); "
        "c = Client(); "
        "r = c.get('/no-such-page/'); print(r.status_code, b'URLconf' in r.content); "
        "r = c.get('/media/returns/evidence/x.jpg'); print(r.status_code, b'URLconf' in r.content)"
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "PII_KEYS", "DEBUG", "SANDBOX", "DJANGO_SETTINGS_MODULE"}
    }
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        AFTERSALES_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        SECRET_KEY=secrets.token_urlsafe(50),
        PII_KEYS=_pii_keys(),
        HTTPS="false",
        SANDBOX="true",
        DEBUG="true",  # even if someone sets it: production settings turn it off
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-4:] == ["404", "False", "404", "False"]
    readme = (ROOT / "README.md").read_text()
    run = readme[readme.index("## Production-like run") : readme.index("### Docker compose")]
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in run
