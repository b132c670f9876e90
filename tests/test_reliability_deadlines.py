"""Reliability of the deadline engine with real processes (issue 3, "Reliability").

(a) two sweepers at once act on every deadline exactly once, and a backlog is swept by two
worker processes together; (b) a worker SIGKILLed in the
middle of a batch loses nothing and does nothing twice once a worker runs again; (c) with the
broker unreachable, writes that schedule deadlines still succeed and a worker catches up later.

Effects are counted as ``TimelineEvent`` rows of verb ``test.rel.effect`` written by the test
handlers inside the sweep's transaction. Workers are ``celery -A config worker -P solo``
subprocesses on the test database and the Redis broker of ``CELERY_BROKER_URL``; this module is
passed to them with ``-I`` so they know the test handlers.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines import engine, registry
from aftersales.deadlines.models import Deadline
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import Merchant
from tests.celery_workers import wait_until_answering

REPO = Path(__file__).resolve().parent.parent
EFFECT = "test.rel.effect"
SLOW_SECONDS = 0.15


def _effect(deadline):
    TimelineEvent.objects.create(
        subject_type=deadline.subject_type,
        subject_id=deadline.subject_id,
        verb=EFFECT,
        actor_kind="system",
        data={"deadline_id": deadline.pk, "pid": os.getpid()},
    )
    return {"ok": True}


def _slow_effect(deadline):
    time.sleep(SLOW_SECONDS)
    return _effect(deadline)


registry.deadline_register("test.rel.fast", _effect, "测试：立即记录效果")
registry.deadline_register("test.rel.slow", _slow_effect, "测试：慢处理后记录效果")

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


# -- helpers ------------------------------------------------------------------------------------


def _database_url():
    s = connection.settings_dict
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    host = s["HOST"] or "127.0.0.1"
    port = s["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


def _env(broker=None):
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url()
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env["PYTHONPATH"] = str(REPO)
    if broker is not None:
        env["CELERY_BROKER_URL"] = broker
    return env


@pytest.fixture
def broker():
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL pointing at Redis")
    return url


class Workers:
    """``-P solo`` workers on a queue of their own: the suite's other process (xdist) sends
    its tasks to the default queue of the same Redis, and a worker of this module busy with
    one of those, or a sweep of this module taken by a worker on another database, would make
    these tests depend on what runs beside them."""

    def __init__(self):
        self.procs = []
        self.queue = f"rel-deadlines-{uuid.uuid4().hex[:8]}"

    def start(self):
        celery = REPO / ".venv" / "bin" / "celery"
        cmd = [
            str(celery) if celery.exists() else sys.executable,
            *([] if celery.exists() else ["-m", "celery"]),
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-I",
            __name__,
            "-Q",
            self.queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "warning",
            "-n",
            f"{self._name(len(self.procs))}@%h",
        ]
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.procs.append(proc)
        return proc

    def start_ready(self):
        """``start`` and wait until this worker is at work."""
        proc = self.start()
        wait_until_answering({self._name(len(self.procs) - 1): proc})
        return proc

    def _name(self, index):
        return f"{self.queue}-{index}"

    def wait_ready(self):
        """Until every started worker answers a ping (``tests.celery_workers``)."""
        wait_until_answering({self._name(i): proc for i, proc in enumerate(self.procs)})

    def sweep(self, **kwargs):
        from aftersales.deadlines.tasks import sweep_deadlines

        sweep_deadlines.apply_async(kwargs=kwargs, queue=self.queue)

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        import redis

        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).delete(
            self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}"
        )


@pytest.fixture
def workers(broker):
    pool = Workers()
    yield pool
    pool.stop()


def _wait_for(condition, timeout=25.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _due_deadlines(kind, n):
    past = clock.now() - timedelta(seconds=5)
    rows = []
    for i in range(n):
        shop = Merchant.objects.create(code=f"rel-{kind.rsplit('.', 1)[-1]}-{i}", name=str(i))
        rows.append(engine.deadline_schedule(subject=shop, kind=kind, due_at=past, actor=SYSTEM))
    return rows


def _effects_by_deadline():
    counts = {}
    for data in TimelineEvent.objects.filter(verb=EFFECT).values_list("data", flat=True):
        counts[data["deadline_id"]] = counts.get(data["deadline_id"], 0) + 1
    return counts


def _assert_exactly_once(rows):
    counts = _effects_by_deadline()
    states = dict(Deadline.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", "state"))
    assert all(state == "done" for state in states.values()), states
    assert counts == {r.pk: 1 for r in rows}


# -- (a) two sweepers at once ----------------------------------------------------------------


def test_two_sweepers_act_exactly_once(db):
    rows = _due_deadlines("test.rel.fast", 120)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def sweeper():
        try:
            barrier.wait()
            results.append(engine.deadline_sweep(batch_size=10))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sum(r.done for r in results) == 120
    _assert_exactly_once(rows)
    assert TimelineEvent.objects.filter(verb="deadline.fired").count() == 120


def test_a_backlog_is_swept_by_two_worker_processes_together(workers, settings):
    """One sweep whose first batch comes back full asks for a helper sweep
    (``DEADLINE_SWEEPERS`` = 2): both workers act, every deadline exactly once."""
    assert settings.DEADLINE_SWEEPERS == 2
    rows = _due_deadlines("test.rel.slow", 24)
    workers.start()
    workers.start()
    workers.wait_ready()  # else the first one may sweep the whole backlog before the second starts
    workers.sweep(batch_size=3)
    assert _wait_for(lambda: not Deadline.objects.filter(state="pending").exists(), timeout=40)
    _assert_exactly_once(rows)
    pids = {
        data["pid"]
        for data in TimelineEvent.objects.filter(verb=EFFECT).values_list("data", flat=True)
    }
    assert len(pids) == 2, pids  # both worker processes swept


# -- (b) SIGKILL in the middle of a batch ----------------------------------------------------


def test_worker_killed_mid_batch_loses_nothing(workers):
    rows = _due_deadlines("test.rel.slow", 24)
    first = workers.start_ready()
    workers.sweep(batch_size=6)
    # Kill as soon as at least one batch has committed and the next one is under way.
    assert _wait_for(lambda: Deadline.objects.filter(state="done").count() >= 6), (
        first.stderr.read().decode() if first.poll() is not None else "worker too slow"
    )
    time.sleep(SLOW_SECONDS * 2)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    done = set(Deadline.objects.filter(state="done").values_list("pk", flat=True))
    assert 6 <= len(done) < 24
    counts = _effects_by_deadline()
    # Committed batches left exactly one effect per done deadline; the killed batch none.
    assert counts == dict.fromkeys(done, 1)
    workers.start_ready()
    workers.sweep(batch_size=6)
    assert _wait_for(lambda: not Deadline.objects.filter(state="pending").exists())
    _assert_exactly_once(rows)


# -- (c) broker down for the writer ----------------------------------------------------------

WRITER = """
import django, logging
django.setup()
from datetime import timedelta
from django.db import transaction
from aftersales import clock
from aftersales.deadlines import engine
from aftersales.tenancy.actors import SYSTEM
from aftersales.models import Merchant
import tests.test_reliability_deadlines  # registers the test kinds
with transaction.atomic():
    shop = Merchant.objects.create(code="rel-offline", name="offline")
    row = engine.deadline_schedule(subject=shop, kind="test.rel.fast",
                                   due_at=clock.now() - timedelta(seconds=1), actor=SYSTEM)
print(row.pk)
"""


def test_broker_down_writes_succeed_and_work_catches_up(workers):
    closed = "redis://127.0.0.1:1/6"
    result = subprocess.run(
        [sys.executable, "-c", WRITER],
        cwd=REPO,
        env=_env(closed),
        capture_output=True,
        text=True,
        timeout=45,
    )
    assert result.returncode == 0, result.stderr
    pk = int(result.stdout.strip().splitlines()[-1])
    assert "could not enqueue a deadline sweep" in result.stderr
    row = Deadline.objects.get(pk=pk)
    assert row.state == "pending"
    # The broker is back: a worker and the beat's next sweep catch up.
    workers.start_ready()
    workers.sweep()
    assert _wait_for(lambda: Deadline.objects.get(pk=pk).state == "done")
    _assert_exactly_once([row])
