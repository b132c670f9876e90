"""RULES.md "Time": calendar-day windows in Shanghai, working days, holiday extension."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from aftersales.deadlines import calendar, rules
from aftersales.deadlines.models import Holiday
from aftersales.errors import InvalidInput
from aftersales.policies import policy_set
from aftersales.tenancy.actors import SYSTEM

SH = ZoneInfo("Asia/Shanghai")
SIGNED = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 2026-11-21 00:30 Shanghai


def test_rules_example_seven_day_window():
    closes = rules.window_closes_at(SIGNED, 7)
    assert closes == datetime(2026, 11, 29, 0, 0, tzinfo=SH)
    last_open = datetime(2026, 11, 28, 23, 59, 59, 999000, tzinfo=SH)
    assert rules.window_is_open(event_at=SIGNED, days=7, at=last_open)
    assert not rules.window_is_open(event_at=SIGNED, days=7, at=closes)
    assert not rules.window_is_open(event_at=SIGNED, days=7, at=closes + timedelta(microseconds=1))


def test_utc_date_would_be_a_day_short():
    # The UTC date of the sign-off is 11-20; counting from it would close a day early.
    assert rules.window_last_day(SIGNED, 7) == date(2026, 11, 28)
    assert rules.window_closes_at(SIGNED, 7) == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert rules.window_is_open(
        event_at=SIGNED, days=7, at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    )


def test_event_late_in_the_shanghai_day():
    at = datetime(2026, 11, 21, 23, 59, 59, tzinfo=SH)
    assert rules.window_last_day(at, 1) == date(2026, 11, 22)
    with pytest.raises(ValueError):
        rules.window_last_day(datetime(2026, 11, 21), 1)


def test_working_days_pure():
    exceptions = {date(2026, 10, 1): "holiday", date(2026, 10, 10): "workday"}
    assert rules.is_working_day(date(2026, 10, 10), exceptions)  # a make-up Saturday
    assert not rules.is_working_day(date(2026, 10, 1), exceptions)
    assert not rules.is_working_day(date(2026, 10, 11), exceptions)  # plain Sunday
    assert rules.add_working_days(date(2026, 11, 20), 1, {}) == date(2026, 11, 23)
    assert rules.working_days_between(date(2026, 11, 20), date(2026, 11, 23), {}) == 1


@pytest.fixture
def calendar_2026(db):
    return calendar.holidays_import_bundled(actor=SYSTEM)


def test_bundled_csv_imports(calendar_2026):
    assert calendar_2026["created"] == Holiday.objects.count() > 30
    assert Holiday.objects.get(date=date(2026, 10, 10)).kind == "workday"
    again = calendar.holidays_import_bundled(actor=SYSTEM)
    assert again == {"created": 0, "updated": 0}


def test_national_day_working_days(calendar_2026):
    # Mon 2026-09-28: Tue 29, Wed 30 work; 1–7 Oct holiday; Thu 8, Fri 9, Sat 10 (make-up) work.
    assert calendar.add_working_days(date(2026, 9, 28), 2) == date(2026, 9, 30)
    assert calendar.add_working_days(date(2026, 9, 28), 3) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 28), 5) == date(2026, 10, 10)
    assert calendar.add_working_days(date(2026, 9, 28), 6) == date(2026, 10, 12)
    assert calendar.is_working_day(date(2026, 9, 20))  # Sunday make-up day
    assert not calendar.is_working_day(date(2026, 10, 5))


def test_spring_festival_ten_working_days(calendar_2026):
    # Complaint accepted Fri 2026-02-13 10:00 Shanghai; Sat 14 is a make-up workday,
    # 15–23 holiday, Sat 28 make-up workday (C3: 10 working days).
    accepted = datetime(2026, 2, 13, 10, 0, tzinfo=SH)
    # 14, 24, 25, 26, 27, 28, Mar 2, 3, 4, 5 → the 10th working day is 2026-03-05.
    assert calendar.working_window_closes_at(accepted, 10) == datetime(2026, 3, 6, tzinfo=SH)


def test_holiday_extension_policy(calendar_2026):
    signed = datetime(2026, 9, 23, 12, 0, tzinfo=SH)  # 7 days → last day 2026-09-30 (works)
    assert calendar.window_closes_at(signed, 7)[0] == datetime(2026, 10, 1, tzinfo=SH)
    signed = datetime(2026, 9, 24, 12, 0, tzinfo=SH)  # last day 10-01: National Day
    closes, ref = calendar.window_closes_at(signed, 7)
    assert closes == datetime(2026, 10, 2, tzinfo=SH)  # off by default: no extension
    assert ref.value is False
    policy_set(key="calendar.holiday_extension", value=True, actor=SYSTEM)
    closes, ref = calendar.window_closes_at(signed, 7)
    assert closes == datetime(2026, 10, 9, tzinfo=SH)  # holiday ends 10-07 → last day 10-08
    assert ref.value is True and ref.version_id is not None
    assert calendar.window_is_open(
        event_at=signed, days=7, at=datetime(2026, 10, 8, 23, 59, tzinfo=SH)
    )


def test_csv_import_validates_whole_file(db):
    with pytest.raises(InvalidInput):
        calendar.holidays_import_csv(
            text="date,kind,name\n2026-01-01,holiday,x\n2026-13-01,holiday,y\n", actor=SYSTEM
        )
    assert Holiday.objects.count() == 0
    with pytest.raises(InvalidInput):
        calendar.holidays_import_csv(text="day,type\n", actor=SYSTEM)
    counts = calendar.holidays_import_csv(
        text="date,kind,name\n2026-01-01,workday,x\n", actor=SYSTEM
    )
    assert counts == {"created": 1, "updated": 0}
    counts = calendar.holidays_import_csv(
        text="date,kind,name\n2026-01-01,holiday,元旦\n", actor=SYSTEM
    )
    assert counts == {"created": 0, "updated": 1}
    assert Holiday.objects.get().kind == "holiday"


def test_import_holidays_command(db, capsys):
    call_command("import_holidays")
    assert "created=" in capsys.readouterr().out
    assert Holiday.objects.filter(date=date(2026, 2, 17), kind="holiday").exists()


def test_holiday_save_and_delete_record_timeline(db):
    from aftersales.casefile.models import TimelineEvent
    from aftersales.errors import Conflict

    row = calendar.holiday_save(day=date(2027, 2, 6), kind="holiday", name="春节", actor=SYSTEM)
    assert calendar.is_working_day(date(2027, 2, 6)) is False
    with pytest.raises(Conflict) as err:
        calendar.holiday_save(day=date(2027, 2, 6), kind="workday", actor=SYSTEM)
    assert err.value.code == "holiday_exists"
    with pytest.raises(InvalidInput) as err:
        calendar.holiday_save(day=date(2027, 2, 7), kind="party", actor=SYSTEM)
    assert err.value.code == "holiday_kind_invalid"
    calendar.holiday_save(holiday=row, day=date(2027, 2, 6), kind="workday", actor=SYSTEM)
    # Saving the same values again is no change and records nothing.
    calendar.holiday_save(holiday=row, day=date(2027, 2, 6), kind="workday", actor=SYSTEM)
    assert calendar.is_working_day(date(2027, 2, 6)) is True
    assert calendar.holiday_delete(holiday=row, actor=SYSTEM) is True
    assert calendar.holiday_delete(holiday=row, actor=SYSTEM) is False
    verbs = list(
        TimelineEvent.objects.filter(subject_type="aftersales.holiday", subject_id=row.pk)
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == [
        "calendar.holiday_added",
        "calendar.holiday_changed",
        "calendar.holiday_deleted",
    ]


def test_import_holidays_if_empty_keeps_staff_edits(db):
    """Start-up imports the bundled calendar once; a restart does not undo admin edits."""
    call_command("import_holidays", if_empty=True)
    national_day = Holiday.objects.get(date=date(2026, 10, 1))
    assert national_day.kind == "holiday"
    assert Holiday.objects.count() > 20
    national_day.name = "国庆节（人工修改）"
    national_day.save()
    call_command("import_holidays", if_empty=True)
    assert Holiday.objects.get(date=date(2026, 10, 1)).name == "国庆节（人工修改）"
