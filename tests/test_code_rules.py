"""Rules of the code itself (ARCHITECTURE.md "Plain Django, and where speed comes from"),
checked on the product's source:

- no product code touches a private name (leading underscore) of Django, DRF, Celery or any
  other library, and no module imports another module's private helpers;
- a ``connection.vendor`` branch exists only in a batch job that needs PostgreSQL for scale,
  and the tests of each such job also run on SQLite in CI (``bin/run-tests``, marker
  ``backends``);
- set-based writes (``aftersales.bulk.insert_rows``: COPY, no ``save()``, no signals) go only to
  append-only models with no ``save()`` override and no signal receiver.
"""

import ast
from pathlib import Path

from django.apps import apps
from django.db import models
from django.db.models import signals

from tests import PRODUCT

ROOT = Path(__file__).resolve().parent.parent

# Underscore names that are documented public API of Django's models.
DOCUMENTED = {
    "_meta": "Model._meta, the Options API (docs: ref/models/meta)",
    "_default_manager": "Model._default_manager (docs: topics/db/managers)",
    "_base_manager": "Model._base_manager (docs: topics/db/managers)",
}

# Functions that may branch on ``connection.vendor``: batch jobs whose PostgreSQL form is
# needed for scale (bench/), each with the test modules that run it on both backends.
VENDOR_BRANCHES = {
    "insert_rows": ["aftersales/tests/test_sweep_batch.py", "repairs/tests/test_deadlines.py"],
    "_mark_done": ["aftersales/tests/test_sweep_batch.py", "aftersales/tests/test_deadlines.py"],
    "_lock_repairs": ["repairs/tests/test_deadlines.py"],
}


def _product_files():
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield path


def _parsed():
    for path in _product_files():
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), filename=str(path))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_product_code_touches_a_private_name():
    found = []
    for where, tree in _parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                    continue  # the class's own
                if node.attr in DOCUMENTED:
                    continue
                found.append(f"{where}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"{where}:{node.lineno}: import {alias.name}")
    assert found == [], "private names used outside their module:\n" + "\n".join(found)


def _vendor_branches():
    """``(file, enclosing function)`` of every read of ``<x>.vendor``."""
    for where, tree in _parsed():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and node.attr == "vendor":
                    yield where, function.name


def test_vendor_branches_only_in_batch_jobs_tested_on_both_backends():
    branches = set(_vendor_branches())
    unexpected = sorted(b for b in branches if b[1] not in VENDOR_BRANCHES)
    assert unexpected == [], (
        "a connection.vendor branch outside the batch jobs listed in VENDOR_BRANCHES: the "
        f"embedded default must run the same business code as production: {unexpected}"
    )
    for name, modules in VENDOR_BRANCHES.items():
        assert any(b[1] == name for b in branches), f"{name} no longer branches: drop it here"
        for module in modules:
            source = (ROOT / module).read_text()
            assert "pytest.mark.backends" in source, f"{module} must be marked `backends`"


def _insert_rows_targets():
    for where, tree in _parsed():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "insert_rows"
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                yield where, node.args[0].id


# Models written set-based: COPY (``insert_rows``) or a raw ``UPDATE … FROM unnest`` (the
# sweep's ``_mark_done`` on deadlines).
SET_BASED = {
    "aftersales.Deadline",
    "aftersales.TimelineEvent",
    "aftersales.DomainEvent",
    "aftersales.Notification",
    "aftersales.NotificationDelivery",
    "repairs.WarrantyEscalation",
    "complaints.ComplaintRecord",
    "complaints.LogLeaf",
    "complaints.LogNode",
}


def test_set_based_writes_only_to_models_without_save_or_signals():
    names = {label.split(".")[1] for label in SET_BASED}
    unknown = sorted({(w, n) for w, n in _insert_rows_targets() if n not in names})
    assert unknown == [], f"insert_rows on a model not in SET_BASED: {unknown}"
    for label in sorted(SET_BASED):
        model = apps.get_model(label)
        assert model.save is models.Model.save, f"{label} overrides save(): no COPY for it"
        for signal in (signals.pre_save, signals.post_save, signals.pre_init, signals.post_init):
            assert not signal.has_listeners(model), f"{label} has a {signal} receiver"
