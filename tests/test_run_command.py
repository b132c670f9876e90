"""``manage.py serve`` (what ``make run`` starts) on the embedded default: SQLite and the
filesystem broker under a fresh var/ directory, web + worker + beat as child processes.

Runs the real command in a subprocess: it must migrate, load the demo data, answer on every
URL it prints, stop every child on Ctrl-C (exit 0) and exit non-zero when a child dies.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration

# The settings module the command runs with (the embedded default unless told otherwise).
SETTINGS = os.environ.get("SERVE_TEST_SETTINGS", "config.settings.base")
READY = "Press Ctrl-C to stop"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid):
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split(") ")[-1].startswith("Z"))


class Serve:
    """``manage.py serve`` in the background, its output collected in a file."""

    def __init__(self, var_dir, port):
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "PII_KEYS"}
        }
        env.update(DJANGO_SETTINGS_MODULE=SETTINGS, AFTERSALES_VAR_DIR=str(var_dir), DEBUG="true")
        self.env = env
        self.log = var_dir.parent / f"serve-{port}.log"
        self.port = port
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self):
        return self.log.read_text()

    def wait_ready(self, timeout=240):
        deadline = time.monotonic() + timeout
        while READY not in self.output:
            assert self.proc.poll() is None, f"serve exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"serve was not ready in time:\n{self.output}"
            time.sleep(0.5)

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise

    def kill(self):
        if self.proc.poll() is None:
            for pid in _children(self.proc.pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.fixture
def var_dir(tmp_path):
    path = tmp_path / "var"
    path.mkdir()
    return path


def test_serve_starts_everything_prints_logins_and_stops_cleanly(var_dir):
    serve = Serve(var_dir, _free_port())
    try:
        serve.wait_ready()
        out = serve.output
        base = f"http://127.0.0.1:{serve.port}"
        for path in ("/admin/", "/merchant/", "/my/", "/api/docs/"):
            assert f"{base}{path}" in out
        for username in ("admin", "agent", "manager", "mediator", "auditor", "consumer01"):
            assert re.search(rf"^\s+{username}\s", out, re.M), username
        assert len(re.findall(r"-owner\s", out)) == 3 and len(re.findall(r"\w-agent\s", out)) == 3
        keys = re.findall(r"\b(as_[0-9a-f]{8}_[\w-]+)", out)
        assert len(set(keys)) == 2

        # Every printed place answers; static files are served (WhiteNoise).
        assert _get(f"{base}/accounts/login/")[0] == 200
        assert _get(f"{base}/api/docs/")[0] == 200
        assert _get(f"{base}/api/schema/")[0] == 200
        assert _get(f"{base}/static/admin/css/base.css")[0] == 200
        status, body = _get(f"{base}/api/v1/merchants/", {"Authorization": f"Api-Key {keys[0]}"})
        assert status == 200 and "digital" in body

        # The demo data is in the embedded SQLite database, with the broker beside it.
        assert (var_dir / "aftersales.sqlite3").exists()
        assert (var_dir / "broker" / "out").is_dir() and (var_dir / "broker" / "control").is_dir()
        # The worker answers through the filesystem broker (``run`` waits for the web server
        # only: on a slow machine the worker may still be starting, so ask a few times).
        for _ in range(6):
            ping = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "inspect",
                    "ping",
                    "--timeout",
                    "10",
                ],
                cwd=ROOT,
                env=serve.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            if "pong" in ping.stdout:
                break
        assert "pong" in ping.stdout, ping.stdout + ping.stderr
        children = _children(serve.proc.pid)
        assert len(children) == 3  # web, worker, beat

        serve.proc.send_signal(signal.SIGINT)
        assert serve.wait_exit() == 0, serve.output
        time.sleep(1)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        serve.kill()

    # A second start finds the demo data loaded, reuses the demo keys, and fails loudly
    # (non-zero) when one of its children dies.
    serve = Serve(var_dir, _free_port())
    try:
        serve.wait_ready()
        assert "Demo data already loaded" in serve.output
        assert set(re.findall(r"\b(as_[0-9a-f]{8}_[\w-]+)", serve.output)) == set(keys)
        children = _children(serve.proc.pid)
        os.kill(children[-1], signal.SIGKILL)
        assert serve.wait_exit() != 0
        time.sleep(1)
        assert not [pid for pid in children if _alive(pid)]
        assert "exited with code" in serve.output
    finally:
        serve.kill()
