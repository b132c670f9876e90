"""Who is acting: the one object that services, selectors and the timeline use for "the caller".

Built once per request from the session user or the integrator's API key
(``actor_from_request``), or ``SYSTEM`` for workers.
"""

from dataclasses import dataclass, field

from aftersales.casefile.models import ActorKind
from aftersales.tenancy.models import PlatformGroup

PLATFORM_READ_GROUPS = frozenset(
    {PlatformGroup.AGENT, PlatformGroup.MANAGER, PlatformGroup.AUDITOR}
)
PLATFORM_WRITE_GROUPS = frozenset({PlatformGroup.AGENT, PlatformGroup.MANAGER})


@dataclass(frozen=True)
class Actor:
    kind: str
    user: object = None
    api_key: object = None
    merchant_id: int | None = None
    consumer_id: int | None = None
    merchant_role: str | None = None
    groups: frozenset = field(default_factory=frozenset)
    is_superuser: bool = False
    provider_id: int | None = None  # staff of a repair provider (repairs app)

    @property
    def label(self):
        if self.api_key is not None:
            return f"api-key:{self.api_key.prefix}"
        if self.user is not None:
            return self.user.get_username()
        return self.kind

    @property
    def is_authenticated(self):
        return self.kind != "anonymous"

    @property
    def is_platform_staff(self):
        return self.kind == ActorKind.PLATFORM

    @property
    def platform_read(self):
        """May read every tenant's data: agents, managers, auditors, superusers, platform keys."""
        if self.kind == ActorKind.INTEGRATOR:
            return self.merchant_id is None
        if self.kind == ActorKind.SYSTEM:
            return True
        return self.kind == ActorKind.PLATFORM and (
            self.is_superuser or bool(self.groups & PLATFORM_READ_GROUPS)
        )

    @property
    def platform_write(self):
        """May change any tenant's data. Auditors and mediators may not."""
        if self.kind == ActorKind.INTEGRATOR:
            return self.merchant_id is None
        if self.kind == ActorKind.SYSTEM:
            return True
        return self.kind == ActorKind.PLATFORM and (
            self.is_superuser or bool(self.groups & PLATFORM_WRITE_GROUPS)
        )

    @property
    def is_mediator(self):
        return self.kind == ActorKind.PLATFORM and PlatformGroup.MEDIATOR in self.groups

    @property
    def is_merchant(self):
        """Merchant staff, or an integrator key scoped to one merchant."""
        return self.merchant_id is not None

    @property
    def is_consumer(self):
        return self.kind == ActorKind.CONSUMER

    @property
    def is_provider(self):
        """Staff of a repair provider: they see only the cases granted to them (guardian)."""
        return self.provider_id is not None

    def timeline_fields(self):
        """The actor columns of ``TimelineEvent`` and ``PiiAccessLog``."""
        return {
            "actor_kind": self.kind if self.kind != "anonymous" else ActorKind.SYSTEM,
            "actor_user": self.user if getattr(self.user, "pk", None) else None,
            "actor_api_key": self.api_key,
            "actor_label": self.label,
        }


SYSTEM = Actor(kind=ActorKind.SYSTEM)
ANONYMOUS = Actor(kind="anonymous")

_role_resolvers = []


def actor_role_register(fn):
    """Let an app below the kernel recognise a role the kernel does not know (repair-provider
    staff, ``repairs``): ``fn(user) -> Actor | None``, tried for a signed-in user who has no
    platform, merchant or consumer role. The kernel never imports the apps below it."""
    if fn not in _role_resolvers:
        _role_resolvers.append(fn)
    return fn


def _other_role(user):
    for resolve in _role_resolvers:
        actor = resolve(user)
        if actor is not None:
            return actor
    return ANONYMOUS


# Group names joined in one column (``aftersales.tenancy.auth.RoleLoadingBackend``); they are role
# codes (``PlatformGroup``) and never hold this character.
ROLE_SEPARATOR = "\x1f"


# Where ``actor_for_user`` keeps a user's actor for the rest of the request.
ACTOR_ATTRIBUTE = "aftersales_actor"


def actor_for_user(user):
    """The actor of a signed-in user (cached on the user object for the request)."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, ACTOR_ATTRIBUTE, None)
    if cached is not None:
        return cached
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        actor = Actor(kind=ActorKind.INTEGRATOR, api_key=api_key, merchant_id=api_key.merchant_id)
    else:
        if hasattr(user, "role_group_names"):  # aftersales.tenancy.auth.RoleLoadingBackend
            names = (user.role_group_names or "").split(ROLE_SEPARATOR)
        else:
            names = user.groups.values_list("name", flat=True) if user.pk else ()
        groups = frozenset(name for name in names if name)
        member = getattr(user, "merchant_member", None) if _has(user, "merchant_member") else None
        consumer = getattr(user, "consumer", None) if _has(user, "consumer") else None
        if user.is_superuser or groups & set(PlatformGroup.values):
            actor = Actor(
                kind=ActorKind.PLATFORM, user=user, groups=groups, is_superuser=user.is_superuser
            )
        elif member is not None:
            actor = Actor(
                kind=ActorKind.MERCHANT,
                user=user,
                merchant_id=member.merchant_id,
                merchant_role=member.role,
            )
        elif consumer is not None:
            actor = Actor(kind=ActorKind.CONSUMER, user=user, consumer_id=consumer.pk)
        else:
            actor = _other_role(user)
    try:
        setattr(user, ACTOR_ATTRIBUTE, actor)
    except AttributeError:
        pass
    return actor


def actor_forget(user):
    """Drop the actor cached on ``user`` by ``actor_for_user``: call it after the user's role
    changed (an app below the kernel made them repair-provider staff, or removed them), so the
    next ``actor_for_user`` sees the new role."""
    try:
        delattr(user, ACTOR_ATTRIBUTE)
    except AttributeError:
        pass


def _has(user, relation):
    try:
        getattr(user, relation)
        return True
    except Exception:  # RelatedObjectDoesNotExist
        return False


def actor_from_request(request):
    return actor_for_user(getattr(request, "user", None))
