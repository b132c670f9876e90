"""Page guards: each portal admits only its own role.

A signed-in user of another role is told that the portal is not theirs and where theirs is
(issue 14), never whether an object exists: the page answers 403 on a portal's own pages and
404 on an object's URL (rows outside the caller's scope answer 404, ARCHITECTURE.md "Tenancy").
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.utils.translation import pgettext_lazy

from aftersales.tenancy.actors import actor_from_request

# The portals, by the name their pages are mounted under (config/urls.py).
PORTAL_NAMES = {
    "my": pgettext_lazy("portal name", "消费者售后页面"),
    "merchant": pgettext_lazy("portal name", "商家后台"),
    "provider": pgettext_lazy("portal name", "维修服务商后台"),
}


def own_place(actor):
    """Where ``actor`` works, as (label, url), or ``None`` for a user without a role."""
    if actor.is_consumer:
        return pgettext_lazy("portal place", "我的订单"), "/my/"
    if actor.kind == "merchant":
        return pgettext_lazy("portal place", "商家后台"), "/merchant/"
    if actor.is_provider:
        return pgettext_lazy("portal place", "维修服务商后台"), "/provider/"
    if actor.is_platform_staff:
        return pgettext_lazy("portal place", "平台管理后台"), "/admin/"
    return None


def no_access(request, actor, portal, *, status=403):
    """The page telling a signed-in user that ``portal`` is not theirs, with a link to theirs."""
    place = own_place(actor)
    context = {
        "portal_name": PORTAL_NAMES.get(portal, ""),
        "place_label": place[0] if place else "",
        "place_url": place[1] if place else "",
    }
    return render(request, "aftersales/no_access.html", context, status=status)


def role_required(check, portal=None):
    """A page guard admitting the actors for whom ``check(actor)`` is true (``request.actor`` is
    set for the view); anyone else signed in gets the portal's no-access page (403, or 404 on a
    URL naming an object), an anonymous visitor the login page."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            actor = actor_from_request(request)
            if not check(actor):
                names_an_object = any(key == "pk" or key.endswith("_pk") for key in kwargs)
                return no_access(request, actor, portal, status=404 if names_an_object else 403)
            request.actor = actor
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


consumer_required = role_required(lambda a: a.is_consumer, portal="my")
merchant_required = role_required(lambda a: a.kind == "merchant", portal="merchant")
