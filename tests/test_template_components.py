"""The shared template components (``aftersales/templates/components/``): each renders what the
portals and the admin rely on, and no app forks one again under its own templates."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django import forms
from django.apps import apps
from django.core.paginator import Paginator
from django.template.loader import render_to_string

from aftersales.templatetags.components import Countdown, deadline_rows, deadline_time

COMPONENTS = Path(apps.get_app_config("aftersales").path) / "templates" / "components"
NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _names(name):
    """A component's name and the names its forks had (``_errors`` for ``_form_errors``)."""
    stem = name.removesuffix(".html")
    return {name} | ({"_errors.html"} if stem == "_form_errors" else set())


def test_no_app_template_directory_forks_a_shared_component():
    shared = {p.name for p in COMPONENTS.glob("_*.html")}
    assert {"_countdown.html", "_deadlines.html", "_timeline.html", "_field.html"} <= shared
    forbidden = set().union(*(_names(n) for n in shared))
    forks = []
    for config in apps.get_app_configs():
        root = Path(config.path) / "templates"
        if not root.is_dir() or not str(root).startswith(str(Path(__file__).parents[1])):
            continue
        forks += [
            str(p.relative_to(root.parent.parent))
            for p in root.rglob("_*.html")
            if p.name in forbidden and p.parent != COMPONENTS
        ]
    project_templates = Path(__file__).parents[1] / "templates"
    forks += [str(p) for p in project_templates.rglob("_*.html") if p.name in forbidden]
    assert forks == [], f"include components/{{name}} instead of a copy: {forks}"


# -- countdown ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "已超时 1 分钟"),
        (-5, "已超时 1 分钟"),
        (-3 * 3600, "已超时 3 小时 0 分"),
        (1, "剩余 1 分钟"),
        (59 * 60 + 59, "剩余 59 分钟"),
        (3600, "剩余 1 小时 0 分"),
        (86399, "剩余 23 小时 59 分"),
        (86400, "剩余 1 天 0 小时"),
        (2 * 86400 - 1, "剩余 1 天 23 小时"),
    ],
)
def test_countdown_text_at_its_boundaries(seconds, shown):
    assert Countdown(NOW + timedelta(seconds=seconds), NOW).text == shown


def test_countdown_renders_ticking_urgent_overdue_and_paused():
    soon = render_to_string(
        "components/_countdown.html", {"c": Countdown(NOW + timedelta(hours=3), NOW)}
    )
    assert 'data-testid="countdown"' in soon and 'class="countdown is-urgent"' in soon
    assert 'data-countdown="10800"' in soon and 'data-fmt-left="剩余 %(t)s"' in soon
    assert "剩余 3 小时 0 分" in soon and 'title="2026-05-01 13:00"' in soon
    later = Countdown(NOW + timedelta(days=2), NOW, urgent_within=timedelta(days=3))
    assert "is-urgent" in render_to_string("components/_countdown.html", {"c": later})
    over = render_to_string(
        "components/_countdown.html", {"c": Countdown(NOW - timedelta(days=2), NOW)}
    )
    assert 'class="countdown is-overdue"' in over and "已超时 2 天 0 小时" in over
    assert 'data-countdown="-172800"' in over
    paused = Countdown(NOW, NOW, paused_left=timedelta(days=29, hours=5))
    html = render_to_string("components/_countdown.html", {"c": paused})
    assert "已暂停，剩余 29 天 5 小时" in html and "data-countdown" not in html


def test_deadline_time_reads_a_window_end_as_24_00():
    assert deadline_time(datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) == "2026-11-28 24:00"
    assert deadline_time(datetime(2026, 11, 28, 15, 59, tzinfo=UTC)) == "2026-11-28 23:59"


# -- deadlines ---------------------------------------------------------------------------------


def _deadline(kind, due_at, state="pending", remaining=None, description=""):
    return SimpleNamespace(
        kind=kind,
        due_at=due_at,
        state=state,
        remaining=remaining,
        description=description,
        get_state_display=lambda: {"pending": "待处理", "paused": "已暂停"}[state],
    )


def test_deadlines_list_shows_each_with_due_time_and_countdown():
    rows = deadline_rows(
        [
            _deadline("returns.auto_approve", NOW + timedelta(hours=47), description="自动同意"),
            _deadline("repairs.g6", NOW, "paused", timedelta(days=30)),
        ],
        now=NOW,
    )
    html = render_to_string(
        "components/_deadlines.html", {"deadlines": rows, "paused_text": "等待配件期间不计时"}
    )
    assert html.count('data-testid="deadline"') == 2 and 'data-testid="deadlines"' in html
    assert "自动同意" in html and "2026-05-03 09:00" in html and "剩余 1 天 23 小时" in html
    assert "repairs.g6（已暂停）" in html and "等待配件期间不计时" in html
    assert "已暂停，剩余 30 天 0 小时" in html
    empty = render_to_string("components/_deadlines.html", {"deadlines": []})
    assert "暂无待办期限。" in empty and "</section>" in empty


def test_deadlines_table_for_the_admin():
    html = render_to_string(
        "components/_deadlines.html",
        {
            "deadlines": deadline_rows(
                [_deadline("x.late", NOW - timedelta(minutes=1), description="过期了")], now=NOW
            ),
            "layout": "table",
        },
    )
    assert html.startswith("<table") and "过期了" in html and "⚠ 已过期" in html
    assert "待处理" in html
    assert "无待办期限" in render_to_string(
        "components/_deadlines.html", {"deadlines": [], "layout": "table"}
    )


# -- timeline ----------------------------------------------------------------------------------


def test_timeline_newest_first_with_badge_who_and_reason():
    events = [
        {"title": "商家同意", "who": "商家", "reason": "", "occurred_at": NOW},
        SimpleNamespace(
            title="已送修",
            who="维修服务商",
            reason="屏幕不亮",
            occurred_at=NOW - timedelta(hours=1),
            status_label="已收件",
            to_status="received",
        ),
    ]
    html = render_to_string("components/_timeline.html", {"events": events, "label": "处理进度"})
    assert html.count('data-testid="timeline-event"') == 2 and 'aria-label="处理进度"' in html
    assert 'class="timeline-item is-latest"' in html and "2026-05-01 10:00:00" in html
    assert '<span class="badge badge-received">已收件</span>' in html and "屏幕不亮" in html
    empty = render_to_string("components/_timeline.html", {"events": [], "empty": "暂无记录。"})
    assert "暂无记录。" in empty


def test_timeline_table_for_the_admin():
    event = SimpleNamespace(
        occurred_at=NOW,
        verb="return.approved",
        verb_label="商家同意",
        from_status="requested",
        to_status="approved",
        from_label="待处理",
        to_label="已同意",
        actor_label="店小二",
        get_actor_kind_display=lambda: "商家",
        reason="",
    )
    html = render_to_string("components/_timeline.html", {"events": [event], "layout": "table"})
    assert "<code>return.approved</code>" in html and "待处理 → 已同意" in html
    assert "店小二（商家）" in html


# -- forms, lists ------------------------------------------------------------------------------


class _Form(forms.Form):
    q = forms.CharField(label="搜索", required=False)
    quantity = forms.IntegerField(label="数量", help_text="最多 2 件")

    def clean(self):
        raise forms.ValidationError("整单错误")


def test_field_and_form_errors():
    form = _Form({"quantity": "x"})
    form.is_valid()
    field = render_to_string(
        "components/_field.html", {"field": form["quantity"], "wide": 1, "class": "x"}
    )
    assert 'class="field field-wide has-error x"' in field and 'for="id_quantity"' in field
    assert '<span class="req" aria-hidden="true">*</span>' in field
    assert 'data-testid="error-quantity"' in field and "最多 2 件" in field
    errors = render_to_string("components/_form_errors.html", {"form": form})
    assert 'data-testid="form-errors"' in errors and 'role="alert"' in errors
    assert errors.index("整单错误") < errors.index("<strong>数量</strong>")
    assert render_to_string("components/_form_errors.html", {"form": _Form()}) == (
        render_to_string("components/_form_errors.html", {"form": _Form()})
    )
    assert "form-errors" not in render_to_string("components/_form_errors.html", {"form": _Form()})


def test_pagination_keeps_the_query():
    page = Paginator(list(range(45)), 20).get_page(2)
    html = render_to_string("components/_pagination.html", {"page": page, "query": "q=a"})
    assert 'href="?q=a&amp;page=1"' in html and 'href="?q=a&amp;page=3"' in html
    assert "第 2 / 3 页" in html
    single = Paginator([1], 20).get_page(1)
    assert "pagination" not in render_to_string("components/_pagination.html", {"page": single})


def test_list_filters_with_and_without_htmx():
    html = render_to_string(
        "components/_list_filters.html",
        {"form": _Form(), "target": "x-results", "filtered": True, "trigger": "change from:input"},
    )
    assert 'hx-target="#x-results"' in html and 'hx-select="#x-results"' in html
    assert 'hx-trigger="submit, change from:select, change from:input"' in html
    assert 'class="field field-grow"><span>搜索</span>' in html and "清除筛选" in html
    plain = render_to_string("components/_list_filters.html", {"form": _Form()})
    assert "hx-get" not in plain and "清除筛选" not in plain
