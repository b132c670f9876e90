"""``manage.py serve``: the whole platform in one command (``make run``).

Migrates, collects static files, loads the demo data once, then starts gunicorn, a Celery
worker and Celery beat as child processes, waits until the web server answers and prints where
to sign in. On the embedded default (no ``DATABASE_URL`` / ``CELERY_BROKER_URL``) that is SQLite
and Celery's filesystem broker under ``var/``; with them set, PostgreSQL and Redis, unchanged.

It lives in the ``demo`` app, the top layer, because the one-command run loads the demo data
and prints its logins (``--no-demo`` skips both).

Ctrl-C or SIGTERM stops every child; if one child dies, the others are stopped and the command
exits non-zero, so a supervisor sees the failure.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from demo import seed as demo

STOP_TIMEOUT = 15
READY_TIMEOUT = 90


def _die_with_parent():
    """Linux: a child gets SIGTERM if ``serve`` is killed outright (no orphans left behind)."""
    try:
        # Here, inside the try: Linux only, and best effort (a Python without ctypes is fine).
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; other systems rely on the signal handlers
        pass


class Command(BaseCommand):
    help = gettext_lazy("启动整个平台（Web、Celery worker 与 beat）并加载演示数据。")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--web-workers", type=int, default=None, help="gunicorn worker processes (default 2)"
        )
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo data")

    def handle(self, *args, host, port, web_workers, no_demo, **options):
        self.children = {}
        self.stopping = False
        if _port_taken(host, port):
            raise CommandError(f"{host}:{port} is already in use; choose another with --port.")
        sqlite = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
        self.stdout.write(f"Database: {_describe_db()}   Broker: {_describe_broker()}")

        try:
            logins, keys = self._prepare(no_demo)
        except KeyboardInterrupt:
            raise CommandError("interrupted before the platform started") from None
        # Children open their own connections; do not share this process's across fork/exec.
        connections.close_all()

        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
            "PYTHONUNBUFFERED": "1",
        }
        python = sys.executable
        gunicorn_conf = str(settings.BASE_DIR / "config" / "gunicorn.py")
        gunicorn = [python, "-m", "gunicorn", "-c", gunicorn_conf, "--bind", f"{host}:{port}"]
        if web_workers:
            gunicorn += ["--workers", str(web_workers)]
        celery = [python, "-m", "celery", "-A", "config"]
        worker = [*celery, "worker", "--loglevel", "INFO", "--hostname", f"worker-{port}@%h"]
        if sqlite:
            # One process writes to SQLite at a time: no forked pool, no concurrent writers.
            worker += ["--pool", "solo", "--concurrency", "1"]
        schedule = str(settings.VAR_DIR / f"celerybeat-schedule-{port}")
        beat = [*celery, "beat", "--loglevel", "INFO", "--schedule", schedule]
        # The web server logs to this console; worker and beat to files, so that the banner
        # stays readable.
        log_dir = settings.VAR_DIR / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_files = {name: log_dir / f"{name}.log" for name in ("worker", "beat")}
        try:
            for name, cmd in (("web", gunicorn), ("worker", worker), ("beat", beat)):
                output = None
                if name in self.log_files:
                    output = open(self.log_files[name], "a")  # closed below; the child keeps it
                self.children[name] = subprocess.Popen(
                    cmd,
                    cwd=settings.BASE_DIR,
                    env=env,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                    stdout=output,
                    stderr=subprocess.STDOUT if output else None,
                )
                if output is not None:
                    output.close()
            self._wait_until_ready(host, port)
            if not self.stopping:
                self._banner(host, port, logins, keys)
            return self._supervise()
        finally:
            self._stop_all()

    def _ensure_holiday_calendar(self):
        """Working-day rules need the calendar: import the bundled one into an empty table."""
        call_command("import_holidays", if_empty=True, stdout=self.stdout)

    def _prepare(self, no_demo):
        """Migrate, collect static files, load the demo once; the logins and keys to print."""
        # Every process starts here: nothing cached by an earlier run (perhaps of a database
        # since deleted) is read.
        cache.clear()
        self.stdout.write("Migrating…")
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_holiday_calendar()
        self.stdout.write("Collecting static files…")
        call_command("collectstatic", interactive=False, verbosity=0)
        if no_demo:
            return [], []
        if demo.is_loaded():
            self.stdout.write("Demo data already loaded.")
        else:
            self.stdout.write("Loading demo data…")
            call_command("seed_demo", stdout=self.stdout)
        return demo.demo_logins(), demo.demo_api_keys()

    # -- child processes ------------------------------------------------------------------

    def _on_signal(self, signum, frame):
        self.stopping = True

    def _dead_child(self):
        for name, proc in self.children.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def _wait_until_ready(self, host, port):
        url = f"http://{_client_host(host)}:{port}/accounts/login/"
        deadline = time.monotonic() + READY_TIMEOUT
        while not self.stopping:
            dead = self._dead_child()
            if dead:
                hint = f" (see {self.log_files[dead[0]]})" if dead[0] in self.log_files else ""
                raise CommandError(f"{dead[0]} exited with code {dead[1]} while starting{hint}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status < 500:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise CommandError(
                    f"the web server did not answer on {url} within {READY_TIMEOUT}s"
                )
            time.sleep(0.5)

    def _supervise(self):
        while not self.stopping:
            dead = self._dead_child()
            if dead:
                hint = f" (see {self.log_files[dead[0]]})" if dead[0] in self.log_files else ""
                raise CommandError(
                    f"{dead[0]} exited with code {dead[1]}{hint}; stopping the platform"
                )
            time.sleep(0.5)
        self.stdout.write("Stopping…")

    def _stop_all(self):
        alive = [p for p in self.children.values() if p.poll() is None]
        for proc in alive:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in alive:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        if alive:
            self.stdout.write("All processes stopped.")

    # -- banner ----------------------------------------------------------------------------

    def _banner(self, host, port, logins, keys):
        base = f"http://{_client_host(host)}:{port}"
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS(_("售后服务平台已启动")))
        w(f"  {_pad(_('管理后台'), 30)}{base}/admin/")
        w(f"  {_pad(_('商家工作台'), 30)}{base}/merchant/")
        w(f"  {_pad(_('消费者页面'), 30)}{base}/my/")
        w(f"  {_pad(_('API 文档'), 30)}{base}/api/docs/   (schema: {base}/api/schema/)")
        if logins:
            w("")
            w(_("演示账号（密码均为 %(password)s）") % {"password": demo.DEMO_PASSWORD})
            for label, username in logins:
                where = _where(username)
                w(f"  {username:<16} {_pad(label, 42)} {base}{where}")
        if keys:
            w("")
            w(_("演示 API 密钥（请求头 Authorization: Api-Key <密钥>）"))
            for label, raw in keys:
                w(f"  {_pad(label, 42)} {raw}")
            w(f"  e.g.  curl -H 'Authorization: Api-Key {keys[0][1]}' {base}/api/v1/merchants/")
        w("")
        logs = self.log_files
        w(f"Logs: web on this console; worker {logs['worker']}; beat {logs['beat']}")
        w("Web, Celery worker and beat are running. Press Ctrl-C to stop.")
        self.stdout.flush()


def _pad(text, width):
    """Left-justify ``text`` to ``width`` terminal columns (CJK characters take two)."""
    columns = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - columns)


def _where(username):
    if username.startswith("consumer"):
        return "/my/"
    if username.endswith("-owner") or username.endswith("-agent"):
        return "/merchant/"
    return "/admin/"


def _client_host(host):
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _port_taken(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((_client_host(host), port)) == 0


def _describe_db():
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"SQLite {db['NAME']}"
    return f"PostgreSQL {db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _describe_broker():
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return f"filesystem {settings.VAR_DIR / 'broker'}"
    return url.split("@")[-1] if "@" in url else url
