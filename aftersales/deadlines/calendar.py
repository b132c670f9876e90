"""The holiday calendar and the time windows that depend on it (RULES.md "Time").

Rules are pure functions in ``aftersales.deadlines.rules``; this module feeds them the
admin-editable calendar (``Holiday`` rows, importable from CSV) and the policy
``calendar.holiday_extension``.
"""

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines import rules
from aftersales.deadlines.models import Holiday
from aftersales.errors import Conflict, InvalidInput
from aftersales.policies import policy_get

BUNDLED_CSV = Path(__file__).resolve().parent.parent / "data" / "cn-holidays-2026.csv"


def calendar_exceptions(start: date | None = None, end: date | None = None) -> dict:
    """``{date: "holiday" | "workday"}`` from the calendar, optionally for [start, end]."""
    qs = Holiday.objects.all()
    if start is not None:
        qs = qs.filter(date__gte=start)
    if end is not None:
        qs = qs.filter(date__lte=end)
    return dict(qs.values_list("date", "kind"))


def _span(day: date, days: int) -> dict:
    # Working-day arithmetic never needs more than ~3 calendar days per working day plus the
    # longest holiday; read that slice of the calendar once.
    return calendar_exceptions(day, day + timedelta(days=days * 3 + 30))


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day in the platform's calendar."""
    return rules.is_working_day(day, calendar_exceptions(day, day))


def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day``."""
    return rules.add_working_days(day, n, _span(day, n))


def working_window_closes_at(event_at: datetime, n: int) -> datetime:
    """When an N-working-day window after ``event_at`` closes (24:00 Shanghai of day N)."""
    day = rules.local_date(event_at)
    return rules.working_window_closes_at(event_at, n, _span(day, n))


def window_closes_at(event_at: datetime, days: int, *, merchant_id=None, category_id=None):
    """When an N-calendar-day window after ``event_at`` closes, and the policy that decided it.

    Returns ``(closes_at, PolicyRef)``. With ``calendar.holiday_extension`` on (民法典 art. 203),
    a last day that is a rest day moves to the next working day.
    """
    ref = policy_get("calendar.holiday_extension", merchant_id=merchant_id, category_id=category_id)
    last = rules.window_last_day(event_at, days)
    if ref.value:
        last = rules.extend_over_rest_days(last, calendar_exceptions(last, last + timedelta(40)))
    return rules.end_of_day(last), ref


def window_is_open(
    *, event_at: datetime, days: int, at: datetime, merchant_id=None, category_id=None
) -> bool:
    closes_at, _ref = window_closes_at(
        event_at, days, merchant_id=merchant_id, category_id=category_id
    )
    return at < closes_at


def _parse_rows(text):
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"date", "kind"} <= set(reader.fieldnames):
        raise InvalidInput(
            _("CSV 需要 date、kind、name 三列。"),
            code="holiday_csv_invalid",
            fields={"columns": ["date", "kind", "name"]},
        )
    rows = {}
    for number, row in enumerate(reader, start=2):
        try:
            day = date.fromisoformat((row.get("date") or "").strip())
        except ValueError:
            raise InvalidInput(
                _("第 %(line)s 行日期无效。") % {"line": number},
                code="holiday_csv_invalid",
                fields={"line": number},
            ) from None
        kind = (row.get("kind") or "").strip()
        if kind not in Holiday.Kind.values:
            raise InvalidInput(
                _("第 %(line)s 行类型应为 holiday（节假日）或 workday（调休工作日）。")
                % {"line": number},
                code="holiday_csv_invalid",
                fields={"line": number},
            )
        rows[day] = (kind, (row.get("name") or "").strip()[:80])
    return rows


def _holiday_fields(holiday):
    return {"date": holiday.date.isoformat(), "kind": holiday.kind, "name": holiday.name}


def holiday_save(*, day, kind, actor, name="", holiday=None):
    """Add a calendar row for ``day`` or, with ``holiday``, change that row; returns the row.

    The one write path for single calendar edits (the admin's add and change forms), so every
    edit leaves a timeline event on the row (``calendar.holiday_added`` / ``_changed``) with
    who, and what the row said before. Deadlines already scheduled keep their due times.
    """
    if kind not in Holiday.Kind.values:
        raise InvalidInput(
            _("类型应为节假日或调休工作日。"),
            code="holiday_kind_invalid",
            fields={"kind": list(Holiday.Kind.values)},
        )
    name = (name or "").strip()[:80]
    with transaction.atomic():
        taken = Holiday.objects.filter(date=day)
        if holiday is not None:
            taken = taken.exclude(pk=holiday.pk)
        if taken.exists():
            raise Conflict(
                _("%(date)s 已在日历中。") % {"date": day.isoformat()},
                code="holiday_exists",
                fields={"date": [day.isoformat()]},
            )
        now = clock.now()
        if holiday is None:
            row = Holiday.objects.create(date=day, kind=kind, name=name, updated_at=now)
            timeline_record(
                subject=row, verb="calendar.holiday_added", actor=actor, data=_holiday_fields(row)
            )
            return row
        row = Holiday.objects.select_for_update().get(pk=holiday.pk)
        before = _holiday_fields(row)
        row.date, row.kind, row.name, row.updated_at = day, kind, name, now
        row.save(update_fields=["date", "kind", "name", "updated_at"])
        after = _holiday_fields(row)
        if after != before:
            timeline_record(
                subject=row,
                verb="calendar.holiday_changed",
                actor=actor,
                data={"before": before, "after": after},
            )
        return row


def holiday_delete(*, holiday, actor, reason=""):
    """Remove a calendar row; the timeline keeps what it said (``calendar.holiday_deleted``)."""
    with transaction.atomic():
        row = Holiday.objects.select_for_update().filter(pk=holiday.pk).first()
        if row is None:
            return False
        timeline_record(
            subject=row,
            verb="calendar.holiday_deleted",
            actor=actor,
            reason=reason,
            data=_holiday_fields(row),
        )
        row.delete()
        return True


def holidays_import_csv(*, text, actor, source=""):
    """Import holiday calendar rows from CSV (``date,kind,name``); existing dates are updated.

    Returns ``{"created": n, "updated": m}``. The whole file is checked before anything is
    written, so a bad line leaves the calendar unchanged.
    """
    rows = _parse_rows(text)
    created = updated = 0
    with transaction.atomic():
        existing = {h.date: h for h in Holiday.objects.select_for_update().filter(date__in=rows)}
        now = clock.now()
        new = []
        for day, (kind, name) in sorted(rows.items()):
            row = existing.get(day)
            if row is None:
                new.append(Holiday(date=day, kind=kind, name=name, updated_at=now))
            elif (row.kind, row.name) != (kind, name):
                row.kind, row.name, row.updated_at = kind, name, now
                row.save(update_fields=["kind", "name", "updated_at"])
                updated += 1
        Holiday.objects.bulk_create(new)
        created = len(new)
        anchor = Holiday.objects.order_by("date").first()
        if anchor is not None:
            timeline_record(
                subject=anchor,
                verb="calendar.imported",
                actor=actor,
                reason=source,
                data={"created": created, "updated": updated, "rows": len(rows)},
            )
    return {"created": created, "updated": updated}


def holidays_import_bundled(*, actor):
    """Import the calendar file shipped with the project (``aftersales/data/``)."""
    return holidays_import_csv(
        text=BUNDLED_CSV.read_text(encoding="utf-8"), actor=actor, source=BUNDLED_CSV.name
    )
