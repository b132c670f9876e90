"""The message centre of each portal (/my/, /merchant/, /provider/): the inbox with filters,
one message (opening it marks it read), mark all read, and the channels chosen per kind of
message. The same selectors and services as the API (``aftersales.messaging.notifications``)."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftersales.messaging import notifications
from aftersales.messaging.kinds import MessageKind
from aftersales.messaging.models import NotificationChannel
from aftersales.tenancy.decorators import role_required

PAGE_SIZE = 20
PORTALS = ("my", "merchant", "provider")

# The page that shows a message's subject, by the subject's model (``Notification.subject_type``)
# and URL name, in every portal that has one; a subject with no page there gets no link.
SUBJECT_PAGES = {
    "returns.returnrequest": "return-detail",
    "repairs.repairorder": "repair-detail",
    "repairs.warrantycard": "warranty-detail",
    "orders.order": "order-detail",
}

ROLE_CHECKS = {
    "my": lambda a: a.is_consumer,
    "merchant": lambda a: a.kind == "merchant",
    "provider": lambda a: getattr(a, "is_provider", False),
}


class InboxFilterForm(forms.Form):
    """The inbox's filters: read or unread, and the kind of message."""

    state = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[
            ("", gettext_lazy("全部")),
            ("unread", gettext_lazy("未读")),
            ("read", gettext_lazy("已读")),
        ],
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("类别"),
        required=False,
        choices=[("", gettext_lazy("全部类别")), *MessageKind.choices],
    )

    def filters(self):
        if not self.is_valid():
            return {}
        state = self.cleaned_data.get("state")
        return {
            "unread": {"unread": True, "read": False}.get(state),
            "kind": self.cleaned_data.get("kind") or None,
        }


def subject_url(notification, portal):
    """The page of the message's subject in ``portal``, or ``""``."""
    name = SUBJECT_PAGES.get(notification.subject_type)
    if not name or notification.subject_id is None:
        return ""
    try:
        return reverse(f"{portal}:{name}", kwargs={"pk": notification.subject_id})
    except NoReverseMatch:
        return ""


def _context(portal, **extra):
    return {
        "portal": portal,
        "portal_shell": f"portal/{portal}.html",
        "nav": "messages",
        **extra,
    }


def _guarded(view):
    """The view for each portal, admitting only that portal's role (others get a 404)."""
    return {
        portal: role_required(ROLE_CHECKS[portal])(
            lambda request, *args, _portal=portal, **kwargs: view(
                request, *args, portal=_portal, **kwargs
            )
        )
        for portal in PORTALS
    }


def _inbox(request, *, portal):
    form = InboxFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    qs = notifications.notification_list(actor=request.actor, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "messaging/inbox.html",
        _context(
            portal,
            form=form,
            page=page,
            rows=list(page.object_list),
            filtered=any(v is not None for v in filters.values()),
            query=query.urlencode(),
            unread=notifications.notification_unread_count(user=request.user),
        ),
    )


def _message(request, pk, *, portal):
    note = notifications.notification_list(actor=request.actor).filter(pk=pk).first()
    if note is None:
        raise Http404
    notifications.notification_mark_read(notification=note, actor=request.actor)
    return render(
        request,
        "messaging/message.html",
        _context(
            portal,
            note=note,
            kind_label=MessageKind(note.kind).label if note.kind in MessageKind.values else "",
            subject_url=subject_url(note, portal),
        ),
    )


def _read_all(request, *, portal):
    marked = notifications.notification_mark_all_read(actor=request.actor)
    messages.success(request, _("已将 %(n)s 条消息标为已读。") % {"n": marked})
    return redirect(f"{portal}:message-list")


class PreferenceForm(forms.Form):
    """Email and SMS per kind of message (in-app is always on): one checkbox each."""

    def __init__(self, *args, preference, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for kind, label in MessageKind.choices:
            email, sms = preference.channels_for(kind)
            self.fields[f"{kind}_email"] = forms.BooleanField(
                required=False, initial=email, label=_("%(kind)s：邮件") % {"kind": label}
            )
            self.fields[f"{kind}_sms"] = forms.BooleanField(
                required=False, initial=sms, label=_("%(kind)s：短信") % {"kind": label}
            )
            self.rows.append(
                {
                    "kind": kind,
                    "label": label,
                    "email": self[f"{kind}_email"],
                    "sms": self[f"{kind}_sms"],
                }
            )

    def kinds(self):
        return {
            kind: {
                "email": self.cleaned_data[f"{kind}_email"],
                "sms": self.cleaned_data[f"{kind}_sms"],
            }
            for kind in MessageKind.values
        }


def _preferences(request, *, portal):
    preference = notifications.preference_for(request.user)
    if request.method == "POST":
        form = PreferenceForm(request.POST, preference=preference)
        if form.is_valid():
            notifications.notification_preference_update(actor=request.actor, kinds=form.kinds())
            messages.success(request, _("消息接收设置已保存。"))
            return redirect(f"{portal}:message-preferences")
    else:
        form = PreferenceForm(preference=preference)
    return render(
        request,
        "messaging/preferences.html",
        _context(portal, form=form, channels=NotificationChannel),
    )


inbox = _guarded(_inbox)
message = _guarded(_message)
read_all = {portal: require_POST(view) for portal, view in _guarded(_read_all).items()}
preferences = _guarded(_preferences)
