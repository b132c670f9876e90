"""三包 repair pages (standard 6.5, RULES.md G1–G12).

- consumer (/my/): warranty cards and what each covers until when, the entitlement answer of a
  card ("为什么只能维修？"), request a repair from a card or an order line, follow it, choose a
  granted exchange or refund;
- merchant portal (/merchant/): their products' repairs (filters, search, pagination, deadlines
  with countdowns, timeouts highlighted), their cards' entitlements, escalations about them;
- repair providers (/provider/): staff see only the repair orders assigned to their provider and
  record receipt (送修, with its own time), diagnosis, parts waits, repair, result and return.

Views parse input and call one selector or service; scoping lives in ``repairs.selectors`` (a
row outside the caller's scope is a 404, exactly like one that does not exist) and every rule in
``repairs.services``/``repairs.rules``, whose ``RuleViolation`` codes become form errors.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales import clock
from aftersales.api.base import no_store
from aftersales.casefile.files import private_file_response
from aftersales.casefile.timeline import timeline_for, timeline_verb_label
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import deadline_description
from aftersales.deadlines.rules import SHANGHAI
from aftersales.errors import DomainError, NotFound
from aftersales.templatetags.components import deadline_rows
from aftersales.templatetags.components import deadline_time as deadline_text
from aftersales.tenancy.decorators import consumer_required, merchant_required, role_required

from . import citations, forms, rules, selectors, services
from .deadlines import parts_limit_days
from .models import RepairOrder, WarrantyCard, WarrantyEscalation
from .seed import seed_text

PAGE_SIZE = 20
SOON = timedelta(days=3)

provider_required = role_required(lambda a: getattr(a, "is_provider", False))


# -- presentation helpers -------------------------------------------------------------------------


def _day_text(day):
    return f"{day:%Y-%m-%d}"


DATE_LABELS = {
    "start_at": gettext_lazy("签收/安装完成"),
    "period_start": gettext_lazy("本期三包起算"),
    "closes_at": gettext_lazy("截止"),
    "ends_at": gettext_lazy("三包有效至"),
    "ended_at": gettext_lazy("三包期届满"),
    "received_at": gettext_lazy("送修时间"),
    "limit_passed_at": gettext_lazy("期限届满"),
    "finished_at": gettext_lazy("上次维修完成"),
    "repairs_finished": gettext_lazy("已完成的维修"),
    "days_since_start": gettext_lazy("自三包起算已"),
    "days_in_repair": gettext_lazy("其中维修/等待配件"),
    "exchange_rules": gettext_lazy("换货依据"),
}
COST_LABELS = rules.PAYER_LABELS
REFUND_ERRORS = {
    "depreciation_rate_unknown": gettext_lazy(
        "该三包类目的日折旧率尚未设置，暂不能计算折旧退货金额，请联系平台客服。"
    ),
}


def _date_items(dates, *, with_code=False):
    """The deciding dates of a remedy as ``[(label, text)]``, in the engine's order; the rules
    an exchange was due under as their law (with the codes for merchants and staff)."""
    items = []
    for key, value in (dates or {}).items():
        label = DATE_LABELS.get(key, key)
        if isinstance(value, datetime):
            # Window ends are exclusive midnights; starts are shown as they happened.
            text = (
                deadline_text(value)
                if key not in ("start_at", "period_start")
                else (f"{value.astimezone(SHANGHAI):%Y-%m-%d %H:%M}")
            )
        elif key == "parts" and isinstance(value, dict):
            for part, ends in value.items():
                items.append(
                    (_("%(part)s 三包至") % {"part": seed_text(part)}, deadline_text(ends))
                )
            continue
        elif isinstance(value, list):
            text = _("、").join(
                f"{v.astimezone(SHANGHAI):%Y-%m-%d}" if isinstance(v, datetime) else str(v)
                for v in value
            )
        elif key == "exchange_rules":
            text = citations.cite(value, with_code=with_code)
        elif key in ("days_since_start", "days_in_repair"):
            text = _("%(n)s 天") % {"n": value}
        else:
            text = str(value)
        items.append((label, text))
    return items


def _coverage_rows(coverage, now):
    rows = []
    for c in coverage:
        if c.part is None:
            label = _("整机")
        else:
            label = seed_text(c.part)
        months = c.months
        period = (
            _("%(y)s 年") % {"y": months // 12}
            if months % 12 == 0
            else _("%(m)s 个月") % {"m": months}
        )
        rows.append(
            {
                "label": label,
                "is_whole": c.part is None,
                "period": period,
                "starts": f"{c.starts_at.astimezone(SHANGHAI):%Y-%m-%d}",
                "base_ends": _day_text(c.base_last_day),
                "extension_days": c.extension_days,
                "ends": _day_text(c.last_day),
                "ended": now >= c.ends_at,
            }
        )
    return rows


def _why_only(ent, start_at, facts, *, with_code=False):
    """Why no return or exchange is open (the consumer's "为什么只能维修？"), rule by rule."""
    kinds = set(ent.kinds)
    if rules.RETURN in kinds and rules.EXCHANGE in kinds:
        return "", []
    reasons = []
    misuse = ent.remedies and ent.remedies[0].rule == "G11"
    if misuse:
        return _("为什么只能付费维修？"), [ent.remedies[0].explanation]
    return_closes = rules.window_closes_at(start_at, rules.RETURN_DAYS)
    exchange_closes = rules.window_closes_at(start_at, rules.EXCHANGE_DAYS)
    if rules.RETURN not in kinds:
        reasons.append(
            _("签收后 7 日内出现性能故障才可退货，退货期已于 %(at)s 截止（%(law)s）。")
            % {"at": deadline_text(return_closes), "law": citations.cite("G1", with_code=with_code)}
        )
    if rules.EXCHANGE not in kinds:
        if ent.at >= exchange_closes:
            reasons.append(
                _("签收后 15 日内出现性能故障才可换货，换货期已于 %(at)s 截止（%(law)s）。")
                % {
                    "at": deadline_text(exchange_closes),
                    "law": citations.cite("G2", with_code=with_code),
                }
            )
        done = 0
        if facts is not None:
            done = sum(
                1
                for r in rules.sanbao_repairs(facts, ent.at)
                if r.finished_at is not None and r.finished_at <= ent.at
            )
        reasons.append(
            _("三包期内修理两次后仍出现故障才可换货或退货（%(law)s），本期已完成修理 %(n)s 次。")
            % {"n": done, "law": citations.cite("G4", with_code=with_code)}
        )
        reasons.append(
            _(
                "维修超过 30 日（扣除等待配件的时间）或送修后因缺少配件超过期限仍未修好时，"
                "也可换货（%(law)s）。"
            )
            % {"law": citations.cite("G5/G6", with_code=with_code)}
        )
    title = (
        _("为什么只能维修？")
        if rules.RETURN not in kinds and rules.EXCHANGE not in kinds
        else _("为什么不能退货？")
    )
    return title, reasons


@dataclass
class Answer:
    """The entitlement answer shaped for the templates (see ``_entitlements.html``)."""

    summary: str
    remedies: list
    coverage: list
    why_title: str
    why: list
    kinds: list


def entitlement_answer(ent, *, start_at, facts=None, with_code=False):
    """``rules.Entitlements`` → ``Answer``: each remedy with its rule and the law behind it
    (``citations``: consumers read the law, merchants and staff the code too), deciding dates,
    the G8 refund amount or why it cannot be computed; the coverage table; the "why only"
    reasons."""
    remedies = []
    for r in ent.remedies:
        remedies.append(
            {
                "kind": r.kind,
                "kind_label": rules.KIND_LABELS.get(r.kind, r.kind),
                "rule": r.rule,
                "explanation": r.explanation,
                "citation": citations.cite(r.rule, with_code=with_code),
                "dates": _date_items(r.dates, with_code=with_code),
                "refund": r.refund,
                "with_depreciation": r.with_depreciation,
                "refund_error": REFUND_ERRORS.get(r.refund_error, r.refund_error)
                if r.refund_error
                else (
                    _("商品价格未知，暂不能计算退款金额。")
                    if r.kind == rules.RETURN and r.refund is None
                    else ""
                ),
                "cost_label": COST_LABELS.get(r.cost_borne_by, ""),
                "alternative": r.alternative,
            }
        )
    why_title, why = _why_only(ent, start_at, facts, with_code=with_code)
    return Answer(
        summary=ent.summary,
        remedies=remedies,
        coverage=_coverage_rows(ent.coverage, ent.at),
        why_title=why_title,
        why=why,
        kinds=ent.kinds,
    )


def _card_answer(card, now, *, with_code=False):
    """The card's entitlement answer now (``selectors.card_facts`` → ``rules.entitlements``, the
    same answer as ``selectors.card_entitlements``, with the facts kept for the reasons)."""
    facts = selectors.card_facts(card)
    ent = rules.entitlements(facts, now)
    return entitlement_answer(ent, start_at=facts.start_at, facts=facts, with_code=with_code)


# The repair page's own names of the deadline steps; every other verb by its registered label
# (repairs/labels.py and the kernel's).
DEADLINE_LABELS = {
    "deadline.paused": gettext_lazy("期限暂停（等待配件不计时）"),
}
STATUS_LABELS = dict(RepairOrder.Status.choices)


def _timeline(repair, *, masked):
    """The repair's timeline, newest first, with Chinese labels; merchants and providers see
    the consumer as "消费者", not by name."""
    events = []
    for e in timeline_for(repair).exclude(verb__startswith="notification."):
        if e.actor_kind == "consumer" and masked:
            who = _("消费者")
        else:
            who = {"system": _("系统"), "platform": _("平台")}.get(e.actor_kind, e.actor_label)
        e.title = DEADLINE_LABELS.get(e.verb) or timeline_verb_label(e.verb) or e.verb
        if e.verb.startswith("deadline."):
            # The engine's technical reason ("status a → b") says less than the kind's text.
            e.reason = deadline_description((e.data or {}).get("kind", "")) or ""
        e.status_label = STATUS_LABELS.get(e.to_status, "") if e.to_status else ""
        e.who = who
        events.append(e)
    events.reverse()
    return events


def _deadline_rows(subjects, now, *, include_reminders=False):
    return deadline_rows(
        deadlines_for_many(subjects, include_reminders=include_reminders),
        now=now,
        urgent_within=SOON,
    )


def _remedy_label(kind):
    return {
        rules.EXCHANGE: _("免费换货"),
        rules.RETURN: _("退货退款"),
    }.get(kind, rules.KIND_LABELS.get(kind, kind))


def _label_escalations(escalations, *, with_code=False):
    for esc in escalations:
        esc.citation = citations.cite(esc.rule, with_code=with_code)
        esc.chosen_label = _remedy_label(esc.chosen_remedy) if esc.chosen_remedy else ""
        esc.granted_label = _("、").join(str(_remedy_label(k)) for k in esc.granted_remedies or [])
    return escalations


def _domain_404(fn, **kwargs):
    try:
        return fn(**kwargs)
    except NotFound:
        raise Http404 from None


def _repair_of(request, pk):
    """The repair order ``pk`` if the signed-in actor may see it, else a 404."""
    return _domain_404(selectors.repair_order_get, actor=request.actor, pk=pk)


def _card_of(request, pk):
    """The warranty card ``pk`` if the signed-in actor may see it, else a 404."""
    return _domain_404(selectors.warranty_card_get, actor=request.actor, pk=pk)


def _htmx_results(request, template, target):
    if getattr(request, "htmx", False) and request.htmx.target == target:
        return template + "#results"
    return template


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# -- lists of repairs (all three portals) ---------------------------------------------------------

PORTALS = {
    "my": {"shell": "portal/my.html", "heading": gettext_lazy("我的维修")},
    "merchant": {"shell": "portal/merchant.html", "heading": gettext_lazy("维修管理")},
    "provider": {"shell": "portal/provider.html", "heading": gettext_lazy("维修工单")},
}


def _portal(portal, nav):
    return {
        "portal": portal,
        "portal_shell": PORTALS[portal]["shell"],
        "nav": nav,
        "list_heading": PORTALS[portal]["heading"],
    }


def _deadline_filter(qs, which, now):
    """Repairs with an open limit (G5/G6) already past (``overdue``: the sweep acts on it at
    once) or an open escalation, or one due within 3 days (``due_soon``)."""
    pending = Deadline.objects.filter(
        subject_type=RepairOrder._meta.label_lower,
        subject_id=OuterRef("pk"),
        state=Deadline.State.PENDING,
    ).exclude(kind__endswith=".reminder")
    if which == "overdue":
        escalated = WarrantyEscalation.objects.filter(
            repair_id=OuterRef("pk"), status=WarrantyEscalation.Status.OPEN
        )
        return qs.filter(Q(Exists(pending.filter(due_at__lte=now))) | Q(Exists(escalated)))
    if which == "due_soon":
        return qs.filter(Exists(pending.filter(due_at__gt=now, due_at__lte=now + SOON)))
    return qs


def _repair_rows(repairs, now, *, include_reminders):
    """Each repair of a page with its next deadline and whether it is overdue/escalated: two
    queries for the page, whatever its size."""
    by_repair = {}
    for row in _deadline_rows(repairs, now, include_reminders=include_reminders):
        by_repair.setdefault(row.deadline.subject_id, []).append(row)
    escalated = set(
        WarrantyEscalation.objects.filter(
            repair_id__in=[r.pk for r in repairs], status=WarrantyEscalation.Status.OPEN
        ).values_list("repair_id", flat=True)
    )
    rows = []
    for repair in repairs:
        deadlines = by_repair.get(repair.pk, [])
        limits = [d for d in deadlines if not d.deadline.is_reminder] or deadlines
        upcoming = limits[0] if limits else None
        overdue = repair.pk in escalated or any(
            d.countdown.overdue for d in deadlines if not d.deadline.is_reminder
        )
        rows.append(
            {
                "repair": repair,
                "next": upcoming,
                "overdue": overdue,
                "escalated": repair.pk in escalated,
            }
        )
    return rows


def _repair_list_page(request, *, portal):
    now = clock.now()
    form = forms.RepairFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    which = filters.pop("overdue", "")
    q = filters.pop("q", "")
    if filters.get("status") == "open":
        filters["open"] = True
        del filters["status"]
    repairs = selectors.repair_order_list(actor=request.actor, filters=filters)
    if q:
        repairs = repairs.filter(
            Q(number__icontains=q)
            | Q(card__product_name__icontains=q)
            | Q(card__number__icontains=q)
            | Q(card__serial_number__icontains=q)
        )
    repairs = _deadline_filter(repairs, which, now)
    page = Paginator(repairs, PAGE_SIZE).get_page(request.GET.get("page"))
    items = list(page.object_list)
    rows = _repair_rows(items, now, include_reminders=portal == "provider")
    context = {
        **_portal(portal, "repairs"),
        "heading": PORTALS[portal]["heading"],
        "form": form,
        "page": page,
        "rows": rows,
        "overdue_count": sum(1 for r in rows if r["overdue"]),
        "filtered": bool(filters) or bool(which) or bool(q),
        "query": _query_without_page(request),
        "detail_url": f"{portal}:repair-detail",
    }
    response = render(
        request, _htmx_results(request, "repairs/repair_list.html", "repair-results"), context
    )
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _repair_context(request, repair, *, portal, now):
    masked = portal != "my"
    escalations = _label_escalations(
        list(WarrantyEscalation.objects.filter(repair=repair).order_by("-raised_at", "-id")),
        with_code=portal != "my",
    )
    days = None
    if repair.received_at is not None:
        facts = rules.RepairFacts(
            received_at=repair.received_at,
            finished_at=repair.finished_at,
            parts_wait_days=repair.parts_wait_days,
            parts_wait_since=repair.parts_wait_since,
        )
        days = {
            "total": rules.repair_days(facts, now),
            "waited": rules.parts_wait_days(facts, now),
            "repairer": rules.repairer_days(facts, now),
        }
    card_url = ""
    if portal in ("my", "merchant"):
        card_url = reverse(f"{portal}:warranty-detail", args=[repair.card_id])
    return {
        **_portal(portal, "repairs"),
        "list_url": f"{portal}:repair-list",
        "evidence_url": f"{portal}:repair-evidence",
        "repair": repair,
        "card_url": card_url,
        "evidence": list(repair.evidence.all()),
        "parts_waits": list(repair.parts_waits.all()),
        "parts_limit_days": parts_limit_days(repair),  # the sale-time catalog's (G5)
        "deadlines": _deadline_rows([repair], now, include_reminders=portal == "provider"),
        "escalations": escalations,
        "timeline": _timeline(repair, masked=masked),
        "days": days,
        # Merchants and providers see the consumer masked (RULES.md D2); the provider of an
        # on-site repair may reveal phone and address for one response (``provider_repair_reveal``).
        "contact": services.repair_consumer_contact_masked(repair) if masked else None,
    }


# -- warranty cards (consumer and merchant) ------------------------------------------------------


def _card_rows(cards, now):
    facts = selectors.card_coverage_facts(cards)
    rows = []
    for card in cards:
        coverage = _coverage_rows(rules.warranty_ends(facts[card.pk], now), now)
        rows.append({"card": card, "whole": coverage[0], "parts": coverage[1:]})
    return rows


def _card_list_page(request, *, portal):
    now = clock.now()
    q = (request.GET.get("q") or "").strip()[:100]
    cards = selectors.warranty_card_list(actor=request.actor, filters={"q": q} if q else {})
    cards = cards.select_related("catalog_change")
    page = Paginator(cards, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **_portal(portal, "warranties"),
        "page": page,
        "cards": _card_rows(list(page.object_list), now),
        "q": q,
        "query": _query_without_page(request),
        "detail_url": f"{portal}:warranty-detail",
    }
    return render(request, "repairs/warranty_list.html", context)


def _card_detail_page(request, pk, *, portal):
    now = clock.now()
    card = _card_of(request, pk)
    repairs = list(card.repairs.order_by("-id"))
    open_repair = next((r for r in repairs if r.is_open), None)
    escalations = _label_escalations(
        list(card.escalations.filter(status=WarrantyEscalation.Status.OPEN)),
        with_code=portal != "my",
    )
    answer = _card_answer(card, now, with_code=portal != "my")
    free_units, _requests = selectors.card_line_units(card)
    context = {
        **_portal(portal, "warranties"),
        "list_url": f"{portal}:warranty-list",
        "card": card,
        "answer": answer,
        "repairs": repairs,
        "open_repair": open_repair,
        "can_request": portal == "my" and card.is_active and open_repair is None,
        "pending_label": _remedy_label(card.pending_remedy) if card.pending_remedy else "",
        "can_choose": portal == "my"
        and card.is_active
        and not card.pending_remedy
        and answer is not None
        and free_units > 0
        and bool(_choosable(answer)),
        "escalations": escalations,
        "repair_detail_url": f"{portal}:repair-detail",
    }
    return render(request, "repairs/warranty_detail.html", context)


@consumer_required
def my_warranty_list(request):
    return _card_list_page(request, portal="my")


@consumer_required
def my_warranty_detail(request, pk):
    return _card_detail_page(request, pk, portal="my")


def _request_page(request, *, cards, card=None):
    now = clock.now()
    form = forms.RepairRequestForm(request.POST or None, request.FILES or None, cards=cards)
    first = card or cards[0]
    answer = _card_answer(first, now)
    repair_kind = rules.FREE_REPAIR if rules.FREE_REPAIR in answer.kinds else rules.PAID_REPAIR
    if request.method == "POST" and form.is_valid():
        chosen = card
        if chosen is None:
            wanted = form.cleaned_data.get("card") or cards[0].pk
            chosen = next((c for c in cards if c.pk == wanted), None)
        if chosen is None:
            raise Http404
        try:
            repair = services.repair_request(
                card=chosen,
                fault_description=form.cleaned_data["fault_description"],
                service_mode=form.cleaned_data["service_mode"],
                evidence=form.cleaned_data["photos"],
                actor=request.actor,
            )
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            forms.form_error(form, exc)
        else:
            messages.success(request, _("维修申请已提交，维修单号 %(n)s。") % {"n": repair.number})
            return redirect("my:repair-detail", repair.pk)
    context = {
        **_portal("my", "warranties"),
        "form": form,
        "card": card,
        "product_name": first.product_name,
        "answer": answer,
        "repair_kind": repair_kind,
    }
    status = 400 if form.errors else 200
    return render(request, "repairs/repair_request.html", context, status=status)


@consumer_required
def my_repair_request(request, pk):
    card = _card_of(request, pk)
    return _request_page(request, cards=[card], card=card)


@consumer_required
def my_line_repair_request(request, pk):
    """A repair from an order line: the consumer picks the unit (one card per unit)."""
    cards = list(
        selectors.warranty_card_list(
            actor=request.actor,
            filters={"order_line": pk, "status": WarrantyCard.Status.ACTIVE},
        ).select_related("catalog_change")
    )
    if not cards:
        # Not the consumer's line, not signed, not a 三包 category, or no active card: a 404
        # that says why (the order page may link every line here).
        context = _portal("my", "warranties")
        return render(request, "repairs/no_card.html", context, status=404)
    return _request_page(request, cards=cards, card=cards[0] if len(cards) == 1 else None)


def _choosable(answer):
    """The remedies the consumer may take now instead of a repair: exchange and return."""
    seen, out = set(), []
    for r in answer.remedies:
        if r["kind"] in (rules.EXCHANGE, rules.RETURN) and r["kind"] not in seen:
            seen.add(r["kind"])
            out.append(r)
    return out


@consumer_required
def my_warranty_remedy(request, pk):
    """Choose a granted exchange or refund (G1, G2, G4–G8) from the card's answer now."""
    now = clock.now()
    card = _card_of(request, pk)
    answer = _card_answer(card, now)
    free_units, line_requests = selectors.card_line_units(card)
    open_remedies = (
        _choosable(answer) if card.is_active and not card.pending_remedy and free_units else []
    )
    choices = []
    for r in open_remedies:
        if r["kind"] == rules.RETURN and r["refund"] is None:
            continue  # no amount yet (G8 rate unknown): the answer below says why
        label = _("%(remedy)s（%(law)s）") % {
            "remedy": _remedy_label(r["kind"]),
            "law": r["citation"],
        }
        if r["alternative"]:
            label = _("同型号同规格无货，换其他型号或规格（%(law)s）") % {"law": r["citation"]}
        if r["kind"] == rules.RETURN and r["refund"] is not None:
            label += _("，可退 ¥%(a)s") % {"a": r["refund"]}
        choices.append((r["kind"], label))
    alternatives = []
    if any(r["alternative"] for r in open_remedies):
        # G7: the other models and specs of the same product in stock, with the difference
        alternatives = [
            (sku.pk, f"{sku.spec or sku.code} · ¥{sku.price}")
            for sku in selectors.alternative_skus(card)
        ]
    form = (
        forms.RemedyChoiceForm(request.POST or None, remedies=choices, alternatives=alternatives)
        if choices
        else None
    )
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            services.warranty_remedy_choose(
                card=card,
                remedy=form.cleaned_data["remedy"],
                actor=request.actor,
                exchange_sku=form.cleaned_data.get("exchange_sku") or None,
            )
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            forms.form_error(form, exc)
        else:
            messages.success(request, _("已提交您的选择，平台和商家将尽快为您处理。"))
            return redirect("my:warranty-detail", card.pk)
    escalations = _label_escalations(list(card.escalations.order_by("-raised_at", "-id")[:5]))
    context = {
        **_portal("my", "warranties"),
        "card": card,
        "answer": answer,
        "form": form,
        "escalations": escalations,
        "pending_label": _remedy_label(card.pending_remedy) if card.pending_remedy else "",
        "units_in_return": not free_units and not card.pending_remedy,
        "line_requests": line_requests,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "repairs/remedy_choose.html", context, status=status)


# -- consumer: repairs ----------------------------------------------------------------------------


@consumer_required
def my_repair_list(request):
    return _repair_list_page(request, portal="my")


def _confirm_form(label):
    return type("ConfirmForm", (forms.forms.Form,), {"confirm": forms.ConfirmField(label)})


@dataclass(frozen=True)
class ConsumerStep:
    """A step the consumer takes on their repair: cancel before 送修, or confirm the end."""

    name: str
    title: str
    button: str
    hint: str
    statuses: tuple
    service: str
    form: type
    done: str


CONSUMER_STEPS = (
    ConsumerStep(
        "cancel",
        gettext_lazy("取消维修申请"),
        gettext_lazy("取消申请"),
        gettext_lazy("维修服务商收到商品前可以取消。"),
        ("requested", "assigned"),
        "repair_cancel",
        _confirm_form(gettext_lazy("我确认取消此维修申请")),
        gettext_lazy("维修申请已取消。"),
    ),
    ConsumerStep(
        "close",
        gettext_lazy("确认收到，结束维修"),
        gettext_lazy("确认结束"),
        format_lazy(
            gettext_lazy("修复后 30 日内再次出现故障，仍可免费重修（{law}）。"),
            law=citations.CITATIONS["G12"],
        ),
        ("returned",),
        "repair_close",
        _confirm_form(gettext_lazy("我已收到商品，确认结束此维修单")),
        gettext_lazy("维修单已结束。"),
    ),
)
CONSUMER_STEP_BY_NAME = {s.name: s for s in CONSUMER_STEPS}


def _consumer_repair_page(request, repair, bound=None, status=200):
    context = _repair_context(request, repair, portal="my", now=clock.now())
    actions = []
    for step in CONSUMER_STEPS:
        if repair.status not in step.statuses:
            continue
        form = bound if bound is not None and bound.step == step.name else step.form()
        form.step = step.name
        actions.append(
            {
                "name": step.name,
                "title": step.title,
                "button": step.button,
                "hint": step.hint,
                "form": form,
                "url": reverse(f"my:repair-{step.name}", args=[repair.pk]),
            }
        )
    context["actions"] = actions
    context["actions_title"] = _("我的操作")
    return render(request, "repairs/repair_detail.html", context, status=status)


@consumer_required
def my_repair_detail(request, pk):
    repair = _repair_of(request, pk)
    return _consumer_repair_page(request, repair)


@consumer_required
@require_POST
def my_repair_step(request, pk, step):
    repair = _repair_of(request, pk)
    spec = CONSUMER_STEP_BY_NAME[step]
    form = spec.form(request.POST)
    form.step = spec.name
    if form.is_valid():
        try:
            getattr(services, spec.service)(
                repair=repair, actor=request.actor, reason=str(spec.title)
            )
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            forms.form_error(form, exc)
        else:
            messages.success(request, spec.done)
            return redirect("my:repair-detail", repair.pk)
    return _consumer_repair_page(request, repair, bound=form, status=400)


# -- merchant portal ------------------------------------------------------------------------------


class AssignForm(forms.forms.Form):
    provider = forms.forms.TypedChoiceField(label=_("维修服务商"), coerce=int)
    note = forms.forms.CharField(label=_("备注"), required=False, max_length=300)

    def __init__(self, *args, providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.providers = {p.pk: p for p in providers}
        self.fields["provider"].choices = [(p.pk, p.name) for p in providers]


def _merchant_repair_page(request, repair, assign_form=None, status=200):
    context = _repair_context(request, repair, portal="merchant", now=clock.now())
    if repair.status in (RepairOrder.Status.REQUESTED, RepairOrder.Status.ASSIGNED):
        providers = services.assignable_providers(repair=repair)
        context["assign_form"] = assign_form or AssignForm(
            providers=providers, initial={"provider": repair.provider_id}
        )
    return render(request, "repairs/repair_detail.html", context, status=status)


def _evidence_file(request, pk, evidence_pk):
    """A repair's evidence file, for whoever may see the repair (404 otherwise): files are never
    served from MEDIA_ROOT directly (issue 19)."""
    item = selectors.evidence_of(_repair_of(request, pk), evidence_pk)
    if item is None:
        raise Http404
    return private_file_response(item.file, filename=item.original_name)


@consumer_required
def my_repair_evidence(request, pk, evidence_pk):
    return _evidence_file(request, pk, evidence_pk)


@merchant_required
def merchant_repair_evidence(request, pk, evidence_pk):
    return _evidence_file(request, pk, evidence_pk)


@merchant_required
def merchant_repair_list(request):
    return _repair_list_page(request, portal="merchant")


@merchant_required
def merchant_repair_detail(request, pk):
    repair = _repair_of(request, pk)
    return _merchant_repair_page(request, repair)


@merchant_required
@require_POST
def merchant_repair_assign(request, pk):
    """Assign the repair to an admitted provider of its category and region (6.5.1)."""
    repair = _repair_of(request, pk)
    form = AssignForm(request.POST, providers=services.assignable_providers(repair=repair))
    if form.is_valid():
        try:
            services.repair_assign(
                repair=repair,
                provider=form.providers[form.cleaned_data["provider"]],
                note=form.cleaned_data["note"],
                actor=request.actor,
            )
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            forms.form_error(form, exc)
        else:
            messages.success(request, _("已派单。"))
            return redirect("merchant:repair-detail", repair.pk)
    return _merchant_repair_page(request, repair, assign_form=form, status=400)


@merchant_required
def merchant_warranty_list(request):
    return _card_list_page(request, portal="merchant")


@merchant_required
def merchant_warranty_detail(request, pk):
    return _card_detail_page(request, pk, portal="merchant")


@merchant_required
def merchant_escalation_list(request):
    status = request.GET.get("status", "")
    statuses = WarrantyEscalation.Status.choices
    filters = {"status": status} if status in dict(statuses) else {}
    escalations = selectors.escalation_queue(actor=request.actor, filters=filters)
    page = Paginator(escalations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **_portal("merchant", "escalations"),
        "page": page,
        "escalations": _label_escalations(list(page.object_list)),
        "statuses": statuses,
        "status": filters.get("status", ""),
        "query": _query_without_page(request),
    }
    return render(request, "repairs/escalation_list.html", context)


# -- repair providers -----------------------------------------------------------------------------


@provider_required
def provider_home(request):
    return redirect("provider:repair-list")


@provider_required
def provider_repair_list(request):
    return _repair_list_page(request, portal="provider")


@dataclass(frozen=True)
class Step:
    """One step a provider records: its form, the service it calls, the statuses offering it
    (``repairs.rules.REPAIR_MOVES``) and whether it needs a confirmation."""

    name: str
    title: str
    button: str
    form: type
    service: str
    statuses: tuple
    hint: str = ""


STEPS = (
    Step(
        "receive",
        gettext_lazy("登记送修（收到商品）"),
        gettext_lazy("确认收到"),
        forms.ReceiveForm,
        "repair_receive",
        ("assigned",),
        gettext_lazy(
            "送修时间是 G5（缺件期限）和 G6（30 日）的起算点，请按实际收到商品的时间填写。"
        ),
    ),
    Step(
        "diagnose",
        gettext_lazy("登记检测结论"),
        gettext_lazy("保存检测结论"),
        forms.DiagnoseForm,
        "repair_diagnose",
        ("received",),
        gettext_lazy("发现使用不当、擅自拆动、凭证问题或不可抗力时注明原因，本次维修按 G11 收费。"),
    ),
    Step(
        "parts-wait-start",
        gettext_lazy("开始等待制造商配件"),
        gettext_lazy("开始等待配件"),
        forms.PartsWaitStartForm,
        "repair_parts_wait_start",
        ("received", "diagnosing", "repairing"),
        gettext_lazy(
            "等待配件的天数不计入修理者责任时间（G6），但送修后超过缺件期限仍未修好须换货（G5）。"
        ),
    ),
    Step(
        "parts-wait-end",
        gettext_lazy("配件到货"),
        gettext_lazy("登记到货"),
        forms.PartsWaitEndForm,
        "repair_parts_wait_end",
        ("waiting_parts",),
    ),
    Step(
        "start",
        gettext_lazy("开始维修"),
        gettext_lazy("开始维修"),
        forms.StartRepairForm,
        "repair_start",
        ("received", "diagnosing"),
    ),
    Step(
        "result",
        gettext_lazy("登记维修结果"),
        gettext_lazy("保存维修结果"),
        forms.ResultForm,
        "repair_finish",
        ("received", "diagnosing", "waiting_parts", "repairing"),
        gettext_lazy(
            "付费维修仅限使用不当、擅自拆动、无有效凭证、不可抗力（G11）或超出三包期（G9）。"
        ),
    ),
    Step(
        "evidence",
        gettext_lazy("上传检测报告或照片"),
        gettext_lazy("上传"),
        forms.EvidenceForm,
        "repair_evidence_add",
        ("received", "diagnosing", "waiting_parts", "repairing", "fixed", "not_fixed"),
    ),
    Step(
        "return",
        gettext_lazy("返还消费者"),
        gettext_lazy("确认返还"),
        forms.ReturnForm,
        "repair_return_to_consumer",
        ("fixed", "not_fixed"),
    ),
)
STEP_BY_NAME = {s.name: s for s in STEPS}


def _run_step(step, repair, data, actor):
    """Call the step's service with the form's cleaned data (``occurred_at`` is each step's own
    time; ``note`` the remark; the other fields go as they are)."""
    kwargs = {k: v for k, v in data.items() if k != "confirm"}
    if "result_note" in kwargs:
        kwargs["note"] = kwargs.pop("result_note")
    return getattr(services, step.service)(repair=repair, actor=actor, **kwargs)


def _step_auto_id(step):
    """Field ids per step: several step forms share field names on one page."""
    return f"id_{step.name}_%s"


def _provider_actions(repair, bound=None):
    """The steps open in the repair's status, each with its form (the bound one on error)."""
    actions = []
    for step in STEPS:
        if repair.status not in step.statuses:
            continue
        if bound is not None and bound.step == step.name:
            form = bound
        elif step.name == "result":
            paid = "1" if repair.is_paid else "0"
            form = step.form(
                initial={"is_paid": paid, "paid_reason": repair.paid_reason},
                auto_id=_step_auto_id(step),
            )
        else:
            form = step.form(auto_id=_step_auto_id(step))
        form.step = step.name
        actions.append(
            {
                "name": step.name,
                "title": step.title,
                "button": step.button,
                "hint": step.hint,
                "form": form,
                "url": reverse("provider:repair-step", args=[repair.pk, step.name]),
            }
        )
    return actions


class RevealForm(forms.forms.Form):
    """Why the provider needs the consumer's full phone and address (logged, RULES.md D3)."""

    reason = forms.forms.CharField(
        label=gettext_lazy("查看原因"),
        max_length=200,
        error_messages={"required": gettext_lazy("请填写查看原因，例如“预约上门时间”。")},
        widget=forms.forms.TextInput(
            attrs={"placeholder": gettext_lazy("例如：电话预约上门维修时间")}
        ),
    )
    confirm = forms.ConfirmField(gettext_lazy("我确认因上门服务需要查看，本次查看将被记录"))


def _provider_detail(request, repair, bound=None, status=200, reveal_form=None, revealed=None):
    context = _repair_context(request, repair, portal="provider", now=clock.now())
    context["actions"] = _provider_actions(repair, bound)
    if services.repair_consumer_reveal_allowed(request.actor, repair):
        context["reveal_form"] = reveal_form or RevealForm(auto_id="id_reveal_%s")
    context["revealed"] = revealed
    if bound is not None and bound.step not in {a["name"] for a in context["actions"]}:
        # The step is no longer open (the repair moved on): say why at the top of the page.
        for errors in bound.errors.values():
            for error in errors:
                messages.error(request, error)
    return render(request, "repairs/repair_detail.html", context, status=status)


@provider_required
def provider_repair_evidence(request, pk, evidence_pk):
    return _evidence_file(request, pk, evidence_pk)


@provider_required
def provider_repair_detail(request, pk):
    repair = _repair_of(request, pk)
    return _provider_detail(request, repair)


@provider_required
@require_POST
def provider_repair_reveal(request, pk):
    """The consumer's full phone and address of an on-site repair, for this response only:
    logged with the reason (RULES.md D3), never stored, never cached; a 404 for anyone but the
    assigned provider's staff of an open on-site repair (``services.repair_consumer_reveal``)."""
    repair = _repair_of(request, pk)
    form = RevealForm(request.POST, auto_id="id_reveal_%s")
    revealed = None
    if form.is_valid():
        try:
            revealed = services.repair_consumer_reveal(
                repair=repair, actor=request.actor, reason=form.cleaned_data["reason"]
            )
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            forms.form_error(form, exc)
    elif not services.repair_consumer_reveal_allowed(request.actor, repair):
        raise Http404
    response = _provider_detail(
        request,
        repair,
        reveal_form=RevealForm(auto_id="id_reveal_%s") if revealed else form,
        revealed=revealed,
        status=200 if revealed else 400,
    )
    return no_store(response)


@provider_required
@require_POST
def provider_repair_step(request, pk, step):
    repair = _repair_of(request, pk)
    spec = STEP_BY_NAME.get(step)
    if spec is None:
        raise Http404
    form = spec.form(request.POST, request.FILES, auto_id=_step_auto_id(spec))
    form.step = spec.name
    if form.is_valid():
        try:
            _run_step(spec, repair, form.cleaned_data, request.actor)
        except NotFound:
            raise Http404 from None
        except DomainError as exc:
            forms.form_error(form, exc)
        else:
            messages.success(request, _("已保存：%(step)s。") % {"step": spec.title})
            return redirect("provider:repair-detail", repair.pk)
    return _provider_detail(request, repair, bound=form, status=400)
