"""Every user-facing string goes through gettext and has its English translation (issue 14).

Checked on the product's source, per package (``-k returns`` runs one):

- no string constant holding Chinese outside a gettext call in product Python (docstrings,
  comments, logging calls and lines marked ``# i18n-exempt: <reason>`` aside), and no f-string
  holding Chinese at all (placeholders go through ``%(name)s``);
- no label of a model, field, form, serializer, admin column, filter or action written as a plain
  string (``verbose_name="Order"`` shows English in zh-hans and no catalogue can reach it);
- every model's verbose names and every field's verbose name and choice labels are lazy
  translations;
- no Chinese in a template outside the translate tags (the per-language notification templates,
  under a ``zh-hans`` folder, are Chinese by design);
- every message the code holds has an English translation that is neither empty nor fuzzy
  (``makemessages`` run on a copy of the tree), and the compiled catalogue matches its source.
"""

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import override_settings
from django.utils.functional import Promise

from tests import PRODUCT

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "aftersales" / "locale"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
EXEMPT = "i18n-exempt"
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "npgettext",
    "npgettext_lazy",
}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
LABEL_KEYWORDS = {
    "verbose_name",
    "verbose_name_plural",
    "help_text",
    "label",
    "description",
    "empty_label",
}
LABEL_ATTRIBUTES = {"short_description", "verbose_name", "verbose_name_plural", "title"}
MODEL_APPS = ["aftersales", "orders", "returns", "repairs", "complaints", "pricing_guard"]
MODEL_APPS += ["invoices"]


def _python_files(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path


def _name(func):
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_log_call(call):
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr in LOG_METHODS
        and "log" in ast.unparse(call.func.value).lower()
    )


def _is_gettext_argument(node, parent):
    return isinstance(parent, ast.Call) and _name(parent.func) in GETTEXT and node in parent.args


def _literal_problems(path):
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def exempt(node):
        return any(EXEMPT in lines[n - 1] for n in range(node.lineno, node.end_lineno + 1))

    def in_log_call(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, ast.Call) and _is_log_call(node):
                return True
        return False

    where = path.relative_to(ROOT).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            if any(CJK.search(p) for p in parts) and not exempt(node) and not in_log_call(node):
                yield f"{where}:{node.lineno}: f-string with Chinese (use gettext and %(name)s)"
            continue
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.JoinedStr):
            continue  # reported with its f-string
        if CJK.search(node.value):
            if isinstance(parent, ast.Expr) or _is_gettext_argument(node, parent):
                continue  # a docstring, or a message
            if exempt(node) or in_log_call(node):
                continue
            yield f"{where}:{node.lineno}: Chinese outside gettext: {node.value[:40]!r}"


def _label_problems(path):
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    where = path.relative_to(ROOT).as_posix()

    def plain_text(value):
        return (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and re.search(r"[A-Za-z\u3400-\u9fff]", value.value)
            and EXEMPT not in lines[value.lineno - 1]
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in LABEL_KEYWORDS and plain_text(keyword.value):
                    yield (
                        f"{where}:{keyword.value.lineno}: {keyword.arg}= is a plain string "
                        f"{keyword.value.value[:30]!r} (wrap it in gettext)"
                    )
        elif isinstance(node, ast.Assign) and plain_text(node.value):
            for target in node.targets:
                name = _name(target)
                if name in LABEL_ATTRIBUTES:
                    yield f"{where}:{node.lineno}: {name} is a plain string (wrap it in gettext)"


@pytest.mark.parametrize("package", PRODUCT)
def test_no_user_facing_literal_outside_gettext(package):
    problems = [p for path in _python_files(package) for p in _literal_problems(path)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", PRODUCT)
def test_no_label_written_as_a_plain_string(package):
    problems = [p for path in _python_files(package) for p in _label_problems(path)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("app_label", MODEL_APPS)
def test_model_names_fields_and_choices_are_translated(app_label):
    problems = []
    for model in apps.get_app_config(app_label).get_models():
        opts = model._meta
        name = f"{app_label}.{model.__name__}"
        if not isinstance(opts.verbose_name, Promise):
            problems.append(f"{name}: Meta.verbose_name is not a lazy translation")
        if not isinstance(opts.original_attrs.get("verbose_name_plural"), Promise):
            problems.append(f"{name}: Meta.verbose_name_plural is not a lazy translation")
        for field in opts.get_fields():
            if field.auto_created or not hasattr(field, "verbose_name"):
                continue
            if not isinstance(field.verbose_name, Promise):
                problems.append(f"{name}.{field.name}: verbose_name is not a lazy translation")
            for value, label in field.flatchoices or ():
                if not isinstance(label, Promise):
                    problems.append(f"{name}.{field.name}: choice {value!r} has no translation")
    assert not problems, "\n".join(problems)


_TRANSLATED_TEMPLATE_PARTS = re.compile(
    r"\{#.*?#\}"
    r"|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}"
    r"|\{%\s*blocktrans(?:late)?\b.*?\{%\s*endblocktrans(?:late)?\s*%\}"
    r"|\{%\s*trans(?:late)?\s.*?%\}"
    r"|_\((?:\"[^\"]*\"|'[^']*')\)",
    re.DOTALL,
)


def _template_files(package):
    for path in sorted((ROOT / package).rglob("*.html")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "zh-hans" in parts:
            continue
        yield path


@pytest.mark.parametrize("package", [*PRODUCT, "templates"])
def test_no_chinese_in_templates_outside_translate_tags(package):
    problems = []
    for path in _template_files(package):
        lines = [
            "" if EXEMPT in line else line for line in path.read_text().splitlines(keepends=True)
        ]
        text = _TRANSLATED_TEMPLATE_PARTS.sub(
            lambda m: "\n" * m.group(0).count("\n"), "".join(lines)
        )
        for number, line in enumerate(text.splitlines(), start=1):
            if CJK.search(line):
                where = path.relative_to(ROOT).as_posix()
                problems.append(f"{where}:{number}: Chinese outside translate: {line.strip()[:60]}")
    assert not problems, "\n".join(problems)


def _copy_sources(target):
    ignore = shutil.ignore_patterns("tests", "migrations", "__pycache__", "static", "*.mo")
    for package in [*PRODUCT, "templates"]:
        shutil.copytree(ROOT / package, target / package, ignore=ignore)


def _entries(po, *flags):
    """``msgid  (where)`` of the entries of ``po`` that ``msgattrib flags`` selects."""
    out = subprocess.run(
        ["msgattrib", *flags, "--no-obsolete", "--no-wrap", str(po)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = []
    for block in out.split("\n\n"):
        msgid = re.search(r'^msgid "(.*)"$', block, re.MULTILINE)
        # Chinese msgids only: an English msgid (Django's admin templates overridden here)
        # reads the same in English, and Django's own catalogue translates it to Chinese.
        if msgid and CJK.search(msgid.group(1)):
            where = " ".join(re.findall(r"^#: (.*)$", block, re.MULTILINE))
            found.append(f"{msgid.group(1)}  ({where})")
    return found


def test_every_message_has_an_english_translation(tmp_path):
    """makemessages on a copy of the tree: what the code holds but the catalogue lacks arrives
    untranslated, what changed arrives fuzzy; neither may exist."""
    _copy_sources(tmp_path)
    locale = tmp_path / "aftersales" / "locale"
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with override_settings(LOCALE_PATHS=[str(locale)]):
            call_command(
                "makemessages", locale=["en"], extensions=["html", "txt", "py"], verbosity=0
            )
    finally:
        os.chdir(here)
    po = locale / "en" / "LC_MESSAGES" / "django.po"
    untranslated = _entries(po, "--untranslated")
    fuzzy = _entries(po, "--only-fuzzy")
    assert not untranslated, "no English translation for:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy (changed since translated) in the catalogue:\n" + "\n".join(fuzzy)


@pytest.mark.parametrize("language", ["en", "zh_Hans"])
def test_compiled_catalogue_matches_its_source(tmp_path, language):
    catalogue = LOCALE / language / "LC_MESSAGES"
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(compiled), str(catalogue / "django.po")],
        check=True,
    )

    def decompiled(mo):
        return subprocess.run(
            ["msgunfmt", "--no-wrap", str(mo)], check=True, capture_output=True, text=True
        ).stdout

    assert decompiled(compiled) == decompiled(catalogue / "django.mo"), (
        f"{language}/LC_MESSAGES/django.mo is stale: run msgfmt on its django.po"
    )
