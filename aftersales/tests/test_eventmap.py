"""What happens after an event can be read in one place (STYLE.md rule 14): each app's
subscriptions in its ``<app>/events.py``, its status → deadline rules in its ``<app>/deadlines.py``,
and the generated ``docs/events.md`` matches the code."""

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

from django.apps import apps
from django.conf import settings

from aftersales import eventmap
from aftersales.casefile import events, statuses
from aftersales.deadlines import engine as deadlines
from aftersales.deadlines import registry

REPO = Path(settings.BASE_DIR)
COMMITTED = REPO / "docs" / "events.md"
KERNEL_SUBSCRIPTIONS = "aftersales/messaging/subscriptions.py"


def test_the_committed_map_matches_the_code():
    # A process of its own: the map of the product, not of handlers tests registered here.
    generated = subprocess.run(
        [sys.executable, "manage.py", "eventmap", "--skip-checks"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert generated == COMMITTED.read_text(encoding="utf-8"), (
        "docs/events.md drifted: run 'make eventmap' and commit it"
    )


def _product_modules():
    """Every product source file of the project's apps (no tests, no migrations)."""
    for config in apps.get_app_configs():
        root = Path(config.path)
        if REPO not in root.parents:
            continue
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(REPO)
            if {"tests", "migrations"} & set(rel.parts):
                continue
            yield config.label, rel.as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _uses(tree, name):
    """Whether the module calls ``name`` (plain or as an attribute) or imports it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == name) or (
                isinstance(func, ast.Attribute) and func.attr == name
            ):
                return True
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            return True
    return False


def test_subscriptions_are_declared_only_in_each_apps_events_module():
    offenders = [
        path
        for label, path, tree in _product_modules()
        if path not in {f"{label}/events.py", KERNEL_SUBSCRIPTIONS} and _uses(tree, "subscribe")
    ]
    assert offenders == [], f"subscribe in {offenders}: declare it in <app>/events.py"


def test_status_deadline_rules_are_declared_only_in_each_apps_deadlines_module():
    offenders = [
        path
        for label, path, tree in _product_modules()
        if path not in {f"{label}/deadlines.py", "aftersales/deadlines/engine.py"}
        and _uses(tree, "deadline_status_rules")
    ]
    assert offenders == [], f"deadline_status_rules in {offenders}: use <app>/deadlines.py"


def _dummy_handler(event):
    """A subscriber for the map test."""


def _dummy_batch(events_):
    """Its batch form."""


def _dummy_deadline(deadline):
    return None


def test_the_map_lists_registered_handlers_rules_and_kinds_by_dotted_path(monkeypatch):
    monkeypatch.setattr(events, "_handlers", defaultdict(list))
    monkeypatch.setattr(deadlines, "_status_tables", {})
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(statuses, "_listeners", [])
    monkeypatch.setattr(_dummy_handler, "many", _dummy_batch, raising=False)
    events.subscribe("test.b_happened")(_dummy_handler)
    events.subscribe("test.a_happened")(_dummy_deadline)
    events.subscribe("test.a_happened")(_dummy_handler)
    events.subscribers("test.unheard")  # a look-up leaves no empty entry in the map
    registry.deadline_register("test.kind", _dummy_deadline, "测试：到期 | 执行")
    deadlines.deadline_status_rules(
        SimpleNamespace(_meta=SimpleNamespace(label_lower="test.case")),
        {
            "open": [deadlines.Schedules("test.kind", due=lambda c: None, reminders=lambda c: [])],
            "done": [deadlines.Cancels("test.kind")],
        },
    )
    statuses.on_status_change(_dummy_deadline)

    data = eventmap.event_map()

    here = __name__
    assert data == {
        "events": {
            "test.a_happened": [
                {"handler": f"{here}._dummy_deadline", "batch": None},
                {"handler": f"{here}._dummy_handler", "batch": f"{here}._dummy_batch"},
            ],
            "test.b_happened": [
                {"handler": f"{here}._dummy_handler", "batch": f"{here}._dummy_batch"}
            ],
        },
        "status_listeners": [f"{here}._dummy_deadline"],
        "status_rules": {
            "test.case": [
                ("open", [{"action": "schedules", "kind": "test.kind", "reminders": True}]),
                ("done", [{"action": "cancels", "kind": "test.kind", "reminders": False}]),
            ]
        },
        "deadline_kinds": [
            {
                "kind": "test.kind",
                "handler": f"{here}._dummy_deadline",
                "description_zh": "测试：到期 | 执行",
            }
        ],
    }
    text = eventmap.event_map_markdown(data)
    assert text == eventmap.event_map_markdown()  # the same registries give the same text
    assert "0x" not in text
    assert (
        "### `test.a_happened`\n\n"
        f"1. `{here}._dummy_deadline`\n"
        f"2. `{here}._dummy_handler` (batch: `{here}._dummy_batch`)\n"
    ) in text
    assert "| `open` | `test.kind` (+ reminders) |  |" in text
    assert "| `done` |  | `test.kind` |" in text
    assert f"| `test.kind` | `{here}._dummy_deadline` | 测试：到期 \\| 执行 |" in text
