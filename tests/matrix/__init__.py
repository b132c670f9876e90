"""The permission matrix registry (issue 2): every endpoint says who may read and change what.

Every URL under ``/api/v1/``, ``/my/`` and ``/merchant/`` must be registered here, by its URL
name, from a module of this package, ``tests/matrix/<app>.py`` (``<app>_pages.py`` and the like
when an app's declarations outgrow one module; ``load()`` imports every module of the
package). These declarations are test code: nothing in the product imports them. The test
``tests/test_permission_matrix.py`` discovers the routes from the URL resolver, fails on any
route that is not registered (or any HTTP method of a route that is not), and then requests each
registered method as every role of ``ROLES``, checking that allowed roles succeed and that
nobody else reads or changes anything.

Registering an endpoint::

    from tests.matrix import (
        CONSUMER_A, MERCHANT_A, PLATFORM_READ, PLATFORM_WRITE, Read, Target, Write, register,
    )

    def _order(w, side):  # side.merchant / side.consumer / side.code ("a" or "b")
        order = make_order(merchant=side.merchant, consumer=side.consumer)
        return Target(kwargs={"pk": order.pk}, row=order.pk)

    register("order-detail", setup=_order,
             get=Read(CONSUMER_A | MERCHANT_A | PLATFORM_READ),
             patch=Write(PLATFORM_WRITE, body={"status": "paid"}, touches=[Order]))

``setup(world, side)`` builds the object owned by merchant A / consumer A (``side`` is ``world.a``)
and returns a ``Target``: the URL kwargs and, for list endpoints and pages, the ``row`` that
identifies it in the response (the ``id`` of an API row, or a text marker on a page). For list
endpoints (no object in the URL) ``setup`` also runs for side B, and the test checks that a role
sees A's row exactly when it is a reader and B's row exactly when it is a reader of B (the role
names mirrored: ``consumer_a`` ↔ ``consumer_b``, ``merchant_a`` ↔ ``merchant_b``).

Expectations derived from the spec: allowed roles get 2xx (a write must change the snapshot of
the ``touches`` models); anonymous API callers get 401, anonymous page visitors (and API keys,
which pages do not accept) a redirect to the login page; a role that may not see the object gets
404 (never 403) for every method; a role that sees the object but may not change it gets 403,
404 or 405; a refused write changes nothing. Mediators see only what is granted to them with
django-guardian: name the permission in ``register(..., grant="app.view_model")`` and return
the object as ``Target.obj``; a separate test grants it and expects the mediator to see exactly
that object (without the grant, the mediator is an ordinary role of the matrix).
"""

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = (
    "anonymous",
    "consumer_a",
    "consumer_b",
    "merchant_a",
    "merchant_b",
    "after_sales_agent",
    "after_sales_manager",
    "mediator",
    "auditor",
    "merchant_key_a",
    "platform_key",
)
KEY_ROLES = frozenset({"merchant_key_a", "platform_key"})
TENANT_A_ROLES = frozenset({"consumer_a", "merchant_a", "merchant_key_a"})

NOBODY = frozenset()
EVERYONE = frozenset(ROLES)  # public endpoints, anonymous visitors included
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
PEOPLE = SIGNED_IN - KEY_ROLES
CONSUMER_A = frozenset({"consumer_a"})
CONSUMERS = frozenset({"consumer_a", "consumer_b"})
MERCHANT_A = frozenset({"merchant_a", "merchant_key_a"})
MERCHANT_A_STAFF = frozenset({"merchant_a"})
MERCHANTS = frozenset({"merchant_a", "merchant_b", "merchant_key_a"})
PLATFORM_STAFF_READ = frozenset({"after_sales_agent", "after_sales_manager", "auditor"})
PLATFORM_STAFF_WRITE = frozenset({"after_sales_agent", "after_sales_manager"})
PLATFORM_READ = PLATFORM_STAFF_READ | {"platform_key"}
PLATFORM_WRITE = PLATFORM_STAFF_WRITE | {"platform_key"}

PREFIXES = ("api/v1/", "my/", "merchant/")
# Written by reads (an API key's last use): not a change the matrix should see.
VOLATILE_FIELDS = {"last_used_at"}
IGNORED_METHODS = {"head", "options", "trace"}


def mirror(roles):
    """The roles that see tenant B's row when ``roles`` see tenant A's.

    ``consumer_a`` ↔ ``consumer_b`` and ``merchant_a`` ↔ ``merchant_b``; ``merchant_key_a`` sees
    B's row only when the set treats every merchant alike (holds both ``merchant_b`` and
    ``merchant_key_a``), since there is no key of merchant B among the roles.
    """
    swap = {
        "consumer_a": "consumer_b",
        "consumer_b": "consumer_a",
        "merchant_a": "merchant_b",
        "merchant_b": "merchant_a",
    }
    out = {swap.get(r, r) for r in roles} - {"merchant_key_a"}
    if {"merchant_b", "merchant_key_a"} <= set(roles):
        out.add("merchant_key_a")
    return frozenset(out)


@dataclass(frozen=True)
class Target:
    """What ``setup`` built: URL kwargs, and the row's identity in lists (an API row's ``id``, or
    a text marker on a page); ``extra`` carries ids that request bodies need."""

    kwargs: dict = field(default_factory=dict)
    row: Any = None
    extra: dict = field(default_factory=dict)
    obj: Any = None  # the model instance, for endpoints with a django-guardian ``grant``


@dataclass(frozen=True)
class Read:
    """A GET: ``allowed`` roles succeed with ``status``; for lists, they see the target's row."""

    allowed: frozenset
    status: int = 200
    params: dict = field(default_factory=dict)
    row_field: str = "id"


@dataclass(frozen=True)
class Write:
    """A POST/PUT/PATCH/DELETE by ``allowed`` roles with ``body`` (dict or ``body(world, target)``).

    ``touches``: the models whose rows the write changes; the test compares their snapshot
    before and after (or ``snapshot(world, target)`` when given). ``status``: the success codes.
    ``callers_own=True``: an action on the caller's own rows (mark all my notifications read):
    every role may call it and succeed, but only ``allowed`` roles may change the target's rows.
    ``foreign_body(world, target)``: the same request aimed at tenant B (B's merchant, order,
    line...); the tenant-A roles among ``allowed`` must be refused with it and change nothing.
    ``reads_only=True``: a read sent as a POST (its input must stay out of URLs, e.g. a phone):
    ``allowed`` roles succeed and nobody changes ``touches``.
    """

    allowed: frozenset
    body: Any = None
    foreign_body: Callable | None = None
    touches: tuple = ()
    snapshot: Callable | None = None
    status: tuple = (200, 201, 202, 204)
    callers_own: bool = False
    reads_only: bool = False

    def __post_init__(self):
        if not self.touches and self.snapshot is None:
            raise ValueError("a Write must name the models it touches (or give a snapshot)")

    def state(self, world, target):
        """The rows this write may change, to compare before and after it."""
        if self.snapshot is not None:
            return self.snapshot(world, target)
        from django.apps import apps

        state = []
        for model in self.touches:
            model = apps.get_model(model) if isinstance(model, str) else model
            fields = [
                f.attname for f in model._meta.concrete_fields if f.name not in VOLATILE_FIELDS
            ]
            state.append(list(model._default_manager.order_by("pk").values_list(*fields)))
        return state

    def body_for(self, world, target):
        return self.body(world, target) if callable(self.body) else (self.body or {})


@dataclass(frozen=True)
class Endpoint:
    name: str
    setup: Callable | None
    ops: dict
    visible: frozenset | None
    own_auth: bool = False
    grant: str | None = None

    @property
    def readers(self):
        """Roles that may see the target object (decides 404 versus 403 on refused writes)."""
        if self.visible is not None:
            return self.visible
        if "get" in self.ops:
            return self.ops["get"].allowed
        return frozenset().union(*(op.allowed for op in self.ops.values()))

    def build(self, world, side):
        return self.setup(world, side) if self.setup else Target()


REGISTRY: dict[str, Endpoint] = {}


def register(
    name,
    *,
    setup=None,
    visible=None,
    get=None,
    post=None,
    put=None,
    patch=None,
    delete=None,
    own_auth=False,
    grant=None,
):
    """Declare the access rules of the URL named ``name`` (``"my:order-list"`` for pages).

    ``visible``: roles that may see the target object, when the endpoint has no ``get``.
    ``own_auth``: the endpoint authenticates by its own scheme (signed provider callbacks):
    every role without it must get 401 and change nothing.
    ``grant``: the django-guardian permission (``"orders.view_order"``) that lets a mediator see
    one object; the test grants it on ``Target.obj`` and expects the mediator to see exactly it.
    """
    ops = {
        m: op
        for m, op in {
            "get": get,
            "post": post,
            "put": put,
            "patch": patch,
            "delete": delete,
        }.items()
        if op
    }
    if not ops:
        raise ValueError(f"{name}: register at least one method")
    for method, op in ops.items():
        expected = Read if method == "get" else Write
        if not isinstance(op, expected):
            raise TypeError(f"{name} {method}: expected {expected.__name__}")
        unknown = set(op.allowed) - set(ROLES)
        if unknown:
            raise ValueError(f"{name} {method}: unknown roles {sorted(unknown)}")
    REGISTRY[name] = Endpoint(
        name=name,
        setup=setup,
        ops=ops,
        own_auth=own_auth,
        grant=grant,
        visible=frozenset(visible) if visible is not None else None,
    )
    return REGISTRY[name]


def load():
    """Import every module of this package (``tests/matrix/<app>.py``…); return the registry."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    kwargs: tuple
    methods: frozenset | None  # None: a function view, methods unknown

    @property
    def is_api(self):
        return self.route.startswith("api/")

    @property
    def is_object(self):
        return bool(self.kwargs)


def _methods(callback):
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: its mapped methods that the viewset does not refuse
        allowed = getattr(getattr(callback, "cls", None), "http_method_names", actions)
        return frozenset(m for m in actions if m not in IGNORED_METHODS and m in allowed)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return frozenset(
            m
            for m in view_class.http_method_names
            if m not in IGNORED_METHODS and hasattr(view_class, m)
        )
    return None


def _walk(patterns, prefix="", namespace=None, kwargs=()):
    from django.urls import URLResolver

    for p in patterns:
        pattern = p.pattern
        names = tuple(getattr(pattern, "converters", {}) or ()) or tuple(
            getattr(getattr(pattern, "regex", None), "groupindex", {}) or ()
        )
        route = prefix + str(pattern)
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, route, ns, kwargs + names)
        else:
            name = p.name and (f"{namespace}:{p.name}" if namespace else p.name)
            yield name, route, kwargs + names, _methods(p.callback)


def discover():
    """Every route under /api/v1/, /my/ and /merchant/ as ``{name: Route}``.

    Format-suffix duplicates (``.json``) of router routes are folded into their route; a route
    without a name is reported under ``"<unnamed> route"`` so the completeness test fails on it.
    """
    from django.urls import get_resolver

    found = {}
    for name, route, kwargs, methods in _walk(get_resolver().url_patterns):
        route = route.lstrip("^")
        if not route.startswith(PREFIXES):
            continue
        if "format" in kwargs:
            continue
        key = name or f"<unnamed> {route}"
        if key in found:
            prev = found[key]
            methods = None if prev.methods is None or methods is None else prev.methods | methods
        found[key] = Route(name=key, route=route, kwargs=tuple(k for k in kwargs), methods=methods)
    return found


@dataclass
class Side:
    """One tenant of the world: ``code`` ("a"/"b"), its merchant, consumer and merchant staff."""

    code: str
    merchant: Any
    consumer: Any  # ConsumerProfile
    staff: Any  # User
    consumer_user: Any


@dataclass
class World:
    """What every ``setup`` receives: both tenants and every role (``users[role]``: a user or
    a raw API key; ``api_keys[role]``: the ``ApiKey`` row of a key role)."""

    a: Side
    b: Side
    users: dict
    api_keys: dict = field(default_factory=dict)

    def user(self, role):
        return self.users[role]
