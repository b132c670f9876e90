"""Every notification comes from its own template in Chinese and English (issue 14): every event
that product code sends has both, each renders in its language, and an English-speaking
recipient is told in English."""

import ast
import re
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.conf import settings

from aftersales.messaging.kinds import MessageKind, event_kind
from aftersales.messaging.models import Notification
from aftersales.messaging.notifications import LANGUAGES, notification_render
from aftersales.tenancy.models import ConsumerProfile

ROOT = Path(settings.BASE_DIR)
TEMPLATES = ROOT / "aftersales" / "templates" / "notifications"
PRODUCT = ("aftersales", "orders", "returns", "repairs", "complaints", "pricing_guard", "invoices")
SENDERS = {"notify", "notify_users", "notify_quietly", "notify_parties"}
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")


def _templated(language):
    return {
        d.name
        for d in (TEMPLATES / language).iterdir()
        if (d / "title.txt").exists() and (d / "body.txt").exists() and d.name != "generic"
    }


def _names_in(function):
    """The event names a local name holds in ``function``: every str (or f-string) given to it."""
    held = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(
                    node.value, (ast.Constant, ast.JoinedStr)
                ):
                    held.setdefault(target.id, []).append(node.value)
    return held


def _pattern(expr, held):
    """``[fnmatch pattern]`` of an event expression (an f-string's fields become ``*``)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "*" for v in expr.values)]
    if isinstance(expr, ast.Name) and expr.id in held:
        return [p for value in held[expr.id] for p in _pattern(value, {})]
    return None


def _event_of(call):
    name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
    if name in SENDERS:
        for kw in call.keywords:
            if kw.arg == "event":
                return kw.value
        if name == "notify_parties" and len(call.args) > 1:
            return call.args[1]
        return None
    # notify_many's messages: messages.append((user, event, context, subject))
    if name == "append" and getattr(call.func.value, "id", None) == "messages" and call.args:
        item = call.args[0]
        if isinstance(item, ast.Tuple) and len(item.elts) == 4:
            return item.elts[1]
    return None


def sent_events():
    """``{(file:line): [patterns]}`` of every notification the product code sends."""
    found = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if {"tests", "migrations"} & set(path.parts):
                continue
            tree = ast.parse(path.read_text(), str(path))
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                held = _names_in(function)
                params = {a.arg for a in function.args.args + function.args.kwonlyargs}
                for call in ast.walk(function):
                    if isinstance(call, ast.Call):
                        expr = _event_of(call)
                        if isinstance(expr, ast.Name) and expr.id in params:
                            continue  # a sender passing its caller's event on
                        if expr is not None:
                            where = f"{path.relative_to(ROOT)}:{call.lineno}"
                            found[where] = _pattern(expr, held)
    return found


def test_every_event_sent_has_a_template_in_both_languages():
    events = sent_events()
    assert len(events) > 40  # the scan finds the senders (returns, repairs, logistics …)
    templated = {language: _templated(language) for language in LANGUAGES}
    missing = []
    for where, patterns in sorted(events.items()):
        if patterns is None:
            missing.append(f"{where}: the event is not a literal the test can read")
            continue
        for pattern in patterns:
            for language in LANGUAGES:
                if not any(fnmatch(name, pattern) for name in templated[language]):
                    missing.append(f"{where}: {pattern} has no {language} template")
    assert not missing, "\n".join(missing)


def test_the_two_languages_have_the_same_events():
    assert _templated("zh-hans") == _templated("en")


SAMPLE = {
    "number": "RR-1",
    "repair_number": "RO-1",
    "amount": Decimal("12.50"),
    "refund_amount": Decimal("12.50"),
    "count": 2,
    "repair_numbers": ["RO-1", "RO-2"],
    "days": 7,
    "paid": True,
    "fee": Decimal("80.00"),
}


@pytest.mark.parametrize("event", sorted(_templated("en")))
@pytest.mark.parametrize("audience", ["consumer", "merchant", "provider", "both"])
def test_templates_render_in_their_language(event, audience):
    context = {**SAMPLE, "audience": audience}
    zh = notification_render(event=event, language="zh-hans", context=context)
    en = notification_render(event=event, language="en", context=context)
    assert zh[0] and zh[1] and en[0] and en[1]
    assert CJK.search(zh[0] + zh[1])
    assert not CJK.search("".join(en)), en
    assert "{{" not in "".join(zh + en) and "{%" not in "".join(zh + en)


def test_every_templated_event_has_a_kind():
    for event in _templated("zh-hans"):
        assert event_kind(event) in MessageKind.values


@pytest.mark.parametrize(
    "event, kind",
    [
        ("complaint.received", MessageKind.COMPLAINTS),
        ("complaint.clock_warning", MessageKind.COMPLAINTS),
        ("return.refunded", MessageKind.REFUNDS),
        ("return.approved", MessageKind.RETURNS),
        ("something.unknown", MessageKind.ACCOUNT),
    ],
)
def test_an_event_is_of_its_kind(event, kind):
    """What a person turns on or off per kind reaches the events of that kind."""
    assert event_kind(event) == kind


@pytest.mark.django_db
def test_an_english_recipient_is_told_in_english():
    from returns import services
    from returns.tests import factories as rf

    line = rf.signed_line()
    consumer = line.order.consumer
    ConsumerProfile.objects.filter(pk=consumer.pk).update(preferred_language="en")
    request, _consumer, merchant = rf.request_at(line, "requested")
    services.return_request_reject(request=request, actor=merchant, reason="Not eligible")
    note = Notification.objects.get(user=consumer.user, event="return.rejected")
    assert note.language == "en" and note.kind == MessageKind.RETURNS
    assert note.title == f"After-sales request {request.number} rejected by the merchant"
    assert note.body.startswith("Reason: Not eligible.") and not CJK.search(note.title + note.body)
    told = Notification.objects.get(event="return.requested")  # the merchant's staff: Chinese
    assert told.language == "zh-hans" and request.number in told.title
    assert CJK.search(told.body) and "{{" not in told.body
