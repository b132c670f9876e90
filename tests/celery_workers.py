"""Waiting for real Celery worker subprocesses of the reliability tests to be at work."""

import time


def wait_until_answering(workers, timeout=60.0):
    """Return once every worker of ``workers`` (``{node name before "@": Popen}``) answers a
    ping: a worker still importing Django consumes nothing yet, and on a slow machine that
    takes seconds, which a test's own time budget must not pay for. A worker that exits on
    the way fails the test with its stderr (when it was piped)."""
    from config.celery import app

    wanted, answered = set(workers), set()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for name, proc in workers.items():
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"worker {name} exited ({proc.returncode}): {err[-2000:]}")
        answered = {node.split("@")[0] for reply in app.control.ping(timeout=0.5) for node in reply}
        if wanted <= answered:
            return
    raise AssertionError(f"workers not answering after {timeout:.0f} s: {wanted - answered}")
