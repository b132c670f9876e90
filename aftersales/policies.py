"""Versioned policies: the RULES.md values marked **policy**, changeable without a deploy.

A value is looked up merchant first, then category, then platform, then the default below.
Every change is a new ``PolicyVersion`` row with who and when; the version that decided a
deadline is kept on the deadline (``PolicyRef``).
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from .errors import Conflict, InvalidInput
from .models import PolicyVersion
from .timeline import timeline_record

# key: (default, description). Values are JSON: numbers, booleans, strings, objects.
DEFAULTS = {
    "returns.auto_approve_hours": (48, "商家未处理退货申请自动同意（小时）RULES.md R13"),
    "returns.close_unshipped_days": (7, "同意退货后买家未寄回自动关闭（天）R14"),
    "returns.close_reminder_hours": (24, "关闭前提醒买家（小时）R14"),
    "returns.refund_after_receipt_days": (7, "商家收货后退款期限（天）R6，法定上限"),
    "returns.express_refund_credit_threshold": (600, "极速退款信用分门槛（0–1000）R12"),
    "returns.high_value_threshold": ("5000.00", "高价值商品保价门槛（元）R17"),
    "complaints.first_response_hours": (
        {"P1": 2, "P2": 8, "P3": 24, "P4": 48},
        "投诉首次响应时限（小时）C2",
    ),
    "complaints.resolution_working_days": (10, "协商解决期限（工作日）C3"),
    "pricing.protection_window_days": (7, "价格保护期（天，7/15/30）P2"),
    "pricing.auto_claims": (False, "降价自动补差 P6"),
    "calendar.holiday_extension": (False, "节假日顺延日历期限（民法典 203 条）"),
    "logistics.stale_tracking_hours": (72, "揽收后无物流更新预警（小时）标准 6.2.1.2"),
}

# Floors set by law: a policy may be more generous, never stricter.
LAW_MAXIMA = {"returns.refund_after_receipt_days": 7}


@dataclass(frozen=True)
class PolicyRef:
    key: str
    value: object
    version_id: int | None  # None: the built-in default

    def __str__(self):
        return f"{self.key}=v{self.version_id or 'default'}"


# Further limits per key: an allowed range or an allowed set of values.
RANGES = {
    "returns.express_refund_credit_threshold": (0, 1000),
    "returns.auto_approve_hours": (1, None),
    "returns.close_unshipped_days": (1, None),
    "returns.refund_after_receipt_days": (1, None),
    "complaints.resolution_working_days": (1, None),
    # At most a year: the hours are added to every tracking node's time (orders.logistics).
    "logistics.stale_tracking_hours": (1, 24 * 366),
}
CHOICES = {"pricing.protection_window_days": (7, 15, 30)}


def policy_register(key, default, description, *, law_max=None, value_range=None, choices=None):
    """Declare a policy of another app (``returns.pickup_slot_hours``) with its default.

    Registering the same key again with the same default is harmless (module reloads)."""
    if key in DEFAULTS and DEFAULTS[key][0] != default:
        raise ValueError(f"policy {key} is already registered with another default")
    DEFAULTS[key] = (default, description)
    if law_max is not None:
        LAW_MAXIMA[key] = law_max
    if value_range is not None:
        RANGES[key] = value_range
    if choices is not None:
        CHOICES[key] = tuple(choices)


def _invalid(message, expected):
    return InvalidInput(message, code="policy_value_invalid", fields={"value": expected})


def _int(value):
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        if value != int(value):
            raise ValueError
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError


def _check_int(key, number):
    if number < 0:
        raise _invalid("取值不能为负数。The value must not be negative.", "≥ 0")
    low, high = RANGES.get(key, (None, None))
    if (low is not None and number < low) or (high is not None and number > high):
        raise _invalid(f"取值应在 {low}–{high if high is not None else '∞'} 之间。", [low, high])
    if key in CHOICES and number not in CHOICES[key]:
        raise _invalid(f"取值只能是 {'/'.join(map(str, CHOICES[key]))}。", list(CHOICES[key]))
    if key in LAW_MAXIMA and number > LAW_MAXIMA[key]:
        raise InvalidInput(
            f"法定上限为 {LAW_MAXIMA[key]}，平台只能更宽松。"
            f"The law caps this at {LAW_MAXIMA[key]}.",
            code="policy_stricter_than_law",
            fields={"value": LAW_MAXIMA[key]},
        )
    return number


def _coerce(key, value):
    """``value`` checked against the type of the key's default, its range and the law."""
    default = DEFAULTS[key][0]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _invalid("该策略取值必须是 true/false。The value must be a boolean.", "boolean")
        return value
    if isinstance(default, int):
        try:
            number = _int(value)
        except (TypeError, ValueError, OverflowError):
            raise _invalid(
                "该策略取值必须是整数。The value must be an integer.", "integer"
            ) from None
        return _check_int(key, number)
    if isinstance(default, str):
        try:
            if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
                raise InvalidOperation
            amount = Decimal(str(value))
            if not amount.is_finite():
                raise InvalidOperation
            amount = amount.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise _invalid(
                '取值必须是金额（如 "5000.00"）。The value must be an amount.', "decimal"
            ) from None
        if amount < 0:
            raise _invalid("金额不能为负数。The amount must not be negative.", "≥ 0")
        return str(amount)
    if isinstance(default, dict):
        if not isinstance(value, dict) or set(value) != set(default):
            raise _invalid(f"取值必须包含 {sorted(default)}。", sorted(default))
        out = {}
        for k, v in value.items():
            try:
                out[k] = _check_int(key, _int(v))
            except (TypeError, ValueError, OverflowError):
                raise _invalid(
                    f"{k} 必须是整数。{k} must be an integer.", sorted(default)
                ) from None
        return out
    return value


def policy_get(key, *, merchant_id=None, category_id=None) -> PolicyRef:
    """The value in force for ``key``: merchant, then category, then platform, then default."""
    if key not in DEFAULTS:
        raise KeyError(key)
    scopes = []
    if merchant_id is not None:
        scopes.append((PolicyVersion.Scope.MERCHANT, merchant_id))
    if category_id is not None:
        scopes.append((PolicyVersion.Scope.CATEGORY, category_id))
    scopes.append((PolicyVersion.Scope.PLATFORM, None))
    cache = _cache.get()
    if cache is not None:
        _cache_fill(cache, scopes)
        for scope in scopes:
            row = cache[scope].get(key)
            if row is not None:
                return PolicyRef(key, row.value, row.pk)
        return PolicyRef(key, DEFAULTS[key][0], None)
    rows = {}
    for row in PolicyVersion.objects.filter(_scopes_q(scopes), key=key).order_by("-version"):
        rows.setdefault((row.scope, row.scope_id), row)
    for scope in scopes:
        row = rows.get(scope)
        if row is not None:
            return PolicyRef(key, row.value, row.pk)
    return PolicyRef(key, DEFAULTS[key][0], None)


# {(scope, scope_id): {key: newest PolicyVersion}} while ``policies_cached`` is active.
_cache = ContextVar("aftersales_policy_cache", default=None)


def _scopes_q(scopes):
    q = Q()
    for scope, scope_id in scopes:
        q |= Q(scope=scope, scope_id=scope_id)
    return q


def _cache_fill(cache, scopes):
    """Read every key of the scopes not cached yet, in one query."""
    missing = [s for s in scopes if s not in cache]
    if not missing:
        return
    for scope in missing:
        cache[scope] = {}
    for row in _fill_query(missing):
        cache[(row.scope, row.scope_id)].setdefault(row.key, row)


def _fill_query(scopes):
    return PolicyVersion.objects.filter(_scopes_q(scopes)).order_by("-version")


@contextmanager
def policies_cached():
    """Within the block (one service call, one transaction) ``policy_get`` reads each scope
    (merchant, category, platform) once, every key at a time, instead of one query per lookup.
    Nested blocks share the outer cache; ``policy_set`` empties it."""
    if _cache.get() is not None:
        yield
        return
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def policy_value(key, **scope):
    return policy_get(key, **scope).value


def policy_set(*, key, value, actor, scope=PolicyVersion.Scope.PLATFORM, scope_id=None, note=""):
    """Record a new version of ``key`` for the scope; returns the new ``PolicyVersion``."""
    if key not in DEFAULTS:
        raise InvalidInput(
            f"未知策略 {key}。Unknown policy.",
            code="policy_unknown",
            fields={"key": sorted(DEFAULTS)},
        )
    if scope not in PolicyVersion.Scope.values:
        raise InvalidInput(
            f"未知范围 {scope}。",
            code="policy_scope_invalid",
            fields={"scope": PolicyVersion.Scope.values},
        )
    if (scope == PolicyVersion.Scope.PLATFORM) != (scope_id is None):
        raise InvalidInput(
            "平台范围不能指定对象；类目/商家范围必须指定对象。", code="policy_scope_invalid"
        )
    value = _coerce(key, value)
    cache = _cache.get()
    if cache is not None:
        cache.clear()
    for attempt in range(5):
        try:
            with transaction.atomic():
                return _policy_insert(
                    key=key, value=value, actor=actor, scope=scope, scope_id=scope_id, note=note
                )
        except IntegrityError:
            # Another writer took this version number first; take the next one.
            if attempt == 4:
                raise Conflict(
                    "策略正在被他人修改，请重试。Policy changed concurrently; retry.",
                    code="policy_concurrent_change",
                ) from None
    raise AssertionError("unreachable")


def _policy_insert(*, key, value, actor, scope, scope_id, note):
    last = PolicyVersion.objects.filter(key=key, scope=scope, scope_id=scope_id).aggregate(
        v=Max("version")
    )["v"]
    row = PolicyVersion.objects.create(
        key=key,
        scope=scope,
        scope_id=scope_id,
        value=value,
        version=(last or 0) + 1,
        note=note,
        created_by=actor.user if getattr(actor.user, "pk", None) else None,
    )
    timeline_record(
        subject=row,
        verb="policy.changed",
        actor=actor,
        reason=note,
        data={"key": key, "value": value, "scope": scope, "scope_id": scope_id},
    )
    return row
