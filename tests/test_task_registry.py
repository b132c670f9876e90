"""Every Celery task of the product is registered in any process that sets Django up — a web
process as well as a worker — because services and adapters send tasks by name
(``current_app.tasks[name]``). A test process imports the tasks modules anyway, so this is
checked in a fresh interpreter."""

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests import PRODUCT

ROOT = Path(__file__).resolve().parent.parent


def _declared_task_names():
    names = set()
    for app in PRODUCT:
        for path in (ROOT / app).rglob("tasks.py"):
            if "tests" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "shared_task":
                    for keyword in node.keywords:
                        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                            names.add(keyword.value.value)
    return names


def test_every_task_is_registered_once_django_is_set_up():
    declared = _declared_task_names()
    assert "orders.sandbox_refund_process" in declared  # the scan finds them
    script = (
        "import json, django; django.setup(); from celery import current_app; "
        "print(json.dumps(sorted(current_app.tasks)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    registered = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert declared - registered == set()
