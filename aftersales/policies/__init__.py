"""Versioned policies: the RULES.md values marked **policy**, changeable without a deploy.

Each app declares its keys with their defaults and bounds (``policy_keys_register``, in the
app's ``policies.py``); the kernel declares only its own. A value is looked up merchant first,
then category, then platform, then the key's default.
Every change is a new ``PolicyVersion`` row with who and when; the version that decided a
deadline is kept on the deadline (``PolicyRef``).
"""

from collections.abc import Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import shared_cache
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput
from aftersales.policies.models import PolicyVersion

# -- the registry of keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyKey:
    """A policy an app declares: its built-in default (JSON: a number, boolean, amount string or
    object), what it means, and its bounds: an allowed ``value_range`` (low, high; ``None`` is
    open), an allowed set of ``choices``, or a ``law_max`` (a floor set by law: a policy may be
    more generous, never stricter)."""

    default: object
    description: object  # a lazy translation of the Chinese text
    value_range: tuple | None = None
    choices: tuple | None = None
    law_max: int | None = None


_keys: dict[str, PolicyKey] = {}


def policy_keys_register(keys):
    """Declare an app's policies, ``{key: PolicyKey(default, description, ...)}``, once, from the
    app's ``policies.py`` (imported by its ``AppConfig.ready``). Registering a key again with
    the same default is harmless (module reloads); another default is an error."""
    for key, spec in keys.items():
        if not isinstance(spec, PolicyKey):
            spec = PolicyKey(*spec)
        if spec.choices is not None:
            spec = replace(spec, choices=tuple(spec.choices))
        known = _keys.get(key)
        if known is not None and known.default != spec.default:
            raise ValueError(f"policy {key} is already registered with another default")
        _keys[key] = spec


def policy_register(key, default, description, *, law_max=None, value_range=None, choices=None):
    """One key of ``policy_keys_register``."""
    policy_keys_register(
        {
            key: PolicyKey(
                default, description, value_range=value_range, choices=choices, law_max=law_max
            )
        }
    )


def policy_keys():
    """Every registered policy, ``{key: PolicyKey}``, in the order they were registered."""
    return dict(_keys)


class _Defaults(Mapping):
    """``{key: (default, description)}`` of the registered policies, read only."""

    def __getitem__(self, key):
        spec = _keys[key]
        return (spec.default, spec.description)

    def __iter__(self):
        return iter(list(_keys))

    def __len__(self):
        return len(_keys)


DEFAULTS = _Defaults()

# The kernel's own policy; every app registers its own in its ``policies.py``.
policy_keys_register(
    {
        "calendar.holiday_extension": PolicyKey(
            False, gettext_lazy("节假日顺延日历期限（《民法典》第二百零三条）")
        )
    }
)


@dataclass(frozen=True)
class PolicyRef:
    key: str
    value: object
    version_id: int | None  # None: the built-in default

    def __str__(self):
        return f"{self.key}=v{self.version_id or 'default'}"


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
    spec = _keys[key]
    if number < 0:
        raise _invalid(_("取值不能为负数。"), "≥ 0")
    low, high = spec.value_range or (None, None)
    if (low is not None and number < low) or (high is not None and number > high):
        raise _invalid(
            _("取值应在 %(low)s–%(high)s 之间。")
            % {"low": low, "high": high if high is not None else "∞"},
            [low, high],
        )
    if spec.choices is not None and number not in spec.choices:
        raise _invalid(
            _("取值只能是 %(choices)s。") % {"choices": "/".join(map(str, spec.choices))},
            list(spec.choices),
        )
    if spec.law_max is not None and number > spec.law_max:
        raise InvalidInput(
            _("法定上限为 %(law_max)s，平台只能更宽松。") % {"law_max": spec.law_max},
            code="policy_stricter_than_law",
            fields={"value": spec.law_max},
        )
    return number


def policy_value_clean(key, value):
    """``value`` checked against the type of the key's default, its range and the law; returns
    the value as it is stored (``InvalidInput`` when it does not fit)."""
    default = _keys[key].default
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _invalid(_("该策略取值必须是 true 或 false。"), "boolean")
        return value
    if isinstance(default, int):
        try:
            number = _int(value)
        except (TypeError, ValueError, OverflowError):
            raise _invalid(_("该策略取值必须是整数。"), "integer") from None
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
            raise _invalid(_("取值必须是金额（如 “5000.00”）。"), "decimal") from None
        if amount < 0:
            raise _invalid(_("金额不能为负数。"), "≥ 0")
        return str(amount)
    if isinstance(default, dict):
        if not isinstance(value, dict) or set(value) != set(default):
            raise _invalid(
                _("取值必须恰好包含这些键：%(keys)s。") % {"keys": "、".join(sorted(default))},
                sorted(default),
            )
        out = {}
        for k, v in value.items():
            try:
                out[k] = _check_int(key, _int(v))
            except (TypeError, ValueError, OverflowError):
                raise _invalid(_("%(key)s 必须是整数。") % {"key": k}, sorted(default)) from None
        return out
    return value


def policy_get(key, *, merchant_id=None, category_id=None) -> PolicyRef:
    """The value in force for ``key``: merchant, then category, then platform, then default."""
    if key not in _keys:
        raise KeyError(key)
    scopes = []
    if merchant_id is not None:
        scopes.append((PolicyVersion.Scope.MERCHANT, merchant_id))
    if category_id is not None:
        scopes.append((PolicyVersion.Scope.CATEGORY, category_id))
    scopes.append((PolicyVersion.Scope.PLATFORM, None))
    rows = _scope_rows(scopes)
    for scope in scopes:
        found = rows[scope].get(key)
        if found is not None:
            value, version_id = found
            return PolicyRef(key, value, version_id)
    return PolicyRef(key, _keys[key].default, None)


# {(scope, scope_id): {key: (value, version id)}} while ``policies_cached`` is active.
_cache = ContextVar("aftersales_policy_cache", default=None)


def policies_shared_key(scope):
    """The shared cache's key of a scope's values, ``(scope, scope_id)``."""
    return f"policies:{str(scope[0])}:{scope[1]}"


def _scope_rows(scopes):
    """``{(scope, scope_id): {key: (value, version id)}}`` of the newest versions of every key
    of ``scopes``: from the block's cache (``policies_cached``), else the shared cache, else
    one query for the scopes neither holds."""
    local = _cache.get()
    wanted = {policies_shared_key(s): s for s in scopes if local is None or s not in local}
    if not wanted:
        return local
    found = shared_cache.cached_many(
        list(wanted), lambda missing: _read_scopes({k: wanted[k] for k in missing})
    )
    rows = {wanted[k]: v for k, v in found.items()}
    if local is None:
        return rows
    local.update(rows)
    return local


def _read_scopes(wanted):
    """``{shared key: {key: (value, version id)}}`` for ``wanted`` (``{shared key: scope}``)."""
    by_scope = {scope: {} for scope in wanted.values()}
    q = Q()
    for scope, scope_id in by_scope:
        q |= Q(scope=scope, scope_id=scope_id)
    for row in PolicyVersion.objects.filter(q).order_by("-version"):
        by_scope[(row.scope, row.scope_id)].setdefault(row.key, (row.value, row.pk))
    return {k: by_scope[scope] for k, scope in wanted.items()}


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
    if key not in _keys:
        raise InvalidInput(
            _("未知策略 %(key)s。") % {"key": key},
            code="policy_unknown",
            fields={"key": sorted(_keys)},
        )
    if scope not in PolicyVersion.Scope.values:
        raise InvalidInput(
            _("未知范围 %(scope)s。") % {"scope": scope},
            code="policy_scope_invalid",
            fields={"scope": PolicyVersion.Scope.values},
        )
    if (scope == PolicyVersion.Scope.PLATFORM) != (scope_id is None):
        raise InvalidInput(
            _("平台范围不能指定对象；类目/商家范围必须指定对象。"), code="policy_scope_invalid"
        )
    value = policy_value_clean(key, value)
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
                    _("策略正在被他人修改，请重试。"),
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
    shared_cache.forget_after_commit(policies_shared_key((scope, scope_id)))
    timeline_record(
        subject=row,
        verb="policy.changed",
        actor=actor,
        reason=note,
        data={"key": key, "value": value, "scope": scope, "scope_id": scope_id},
    )
    return row
