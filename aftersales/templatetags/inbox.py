"""The message centre's link in a portal's header, with the unread count:
``{% load inbox %}{% inbox_link %}`` in ``portal/shell.html`` (one query, on the unread index)."""

from django import template
from django.urls import NoReverseMatch, reverse

from aftersales.messaging.notifications import notification_unread_count

register = template.Library()

PORTALS = ("my", "merchant", "provider")


@register.inclusion_tag("messaging/_inbox_link.html", takes_context=True)
def inbox_link(context):
    """The link to the signed-in user's inbox in the portal being shown, or nothing."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    portal = getattr(match, "namespace", "")
    user = getattr(request, "user", None)
    if portal not in PORTALS or user is None or not user.is_authenticated:
        return {"url": ""}
    try:
        url = reverse(f"{portal}:message-list")
    except NoReverseMatch:
        return {"url": ""}
    return {
        "url": url,
        "unread": notification_unread_count(user=user),
        "current": context.get("nav") == "messages",
    }
