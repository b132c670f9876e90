"""Notifications (standard 5.3.2): in-app inbox, email and SMS, in the recipient's language.

``notify(recipient_user=..., event="return.approved", context={...}, subject=case, actor=...)``
renders ``notifications/<language>/<event>/{title,body,sms}.txt`` from a context of facts
(numbers, amounts, instants: templates write deadlines with ``components.deadline_time``), so no
service writes message text; every event sent has its templates in both languages
(tests/test_notification_templates.py). The fallbacks (zh-hans, then
``notifications/<language>/generic/``, which prints ``context["title"]`` and ``context["body"]``)
only serve events no template names yet. It stores the inbox row (with its ``kind`` of message,
``kinds.event_kind``) and one ``NotificationDelivery`` per channel the user chose for that kind
(``NotificationPreference``: in-app always; email; SMS). Email and SMS are sent by a
Celery task after commit; a failed send is retried with back-off by the periodic sweep
(``aftersales.deliver_webhooks``, every 30 s) up to ``NotificationDelivery.MAX_ATTEMPTS``. If the
broker is down the caller's write still commits and the sweep sends the message later.
"""

import functools
import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template import Context, Engine, TemplateDoesNotExist, defaultfilters
from django.template.base import TextNode, Variable, VariableNode
from django.utils import translation
from django.utils.translation import gettext

from aftersales import clock
from aftersales.bulk import actor_columns, insert_rows
from aftersales.casefile.models import TimelineEvent
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import NotFound, RuleViolation
from aftersales.messaging.kinds import MessageKind, event_kind, kind_channels
from aftersales.messaging.models import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
)
from aftersales.messaging.sms import sms_provider
from aftersales.pii import mask_phone
from aftersales.tenancy.models import ConsumerProfile, MerchantMember, User

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh-hans"
LANGUAGES = ("zh-hans", "en")
# A worker that dies mid-send leaves its rows to the next sweep after this long (the webhook
# sweep's batch of 10 at WEBHOOK_TIMEOUT_SECONDS each fits in it); with the 30 s sweep, a
# crash is recovered within two minutes (issue 19).
LEASE = timedelta(seconds=90)
# Plain-text messages: no HTML escaping (an "&" in a URL stays "&"). ``components`` gives the
# platform's one way to write a deadline (``deadline_time``), ``i18n`` and ``l10n`` the rest.
_engine = Engine(
    app_dirs=True,
    autoescape=False,
    libraries={
        "components": "aftersales.templatetags.components",
        "i18n": "django.templatetags.i18n",
        "l10n": "django.templatetags.l10n",
    },
)


def retry_delay(attempts: int) -> timedelta:
    """Back-off after ``attempts`` failed sends: 1, 2, 4, 8 … minutes."""
    return timedelta(minutes=2 ** max(attempts - 1, 0))


# -- rendering ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _template(language, event, part):
    """The first template of the fallback chain that exists, or ``None``. Resolved once per
    (language, event, part): a sweep batch renders thousands of messages of one event."""
    names = [f"notifications/{language}/{event}/{part}.txt"]
    if language != DEFAULT_LANGUAGE:
        names.append(f"notifications/{DEFAULT_LANGUAGE}/{event}/{part}.txt")
    names.append(f"notifications/{language}/generic/{part}.txt")
    for name in names:
        try:
            return _engine.get_template(name)
        except TemplateDoesNotExist:
            continue
    return None


def _render(language, event, part, context):
    template = _template(language, event, part)
    if template is None:
        raise TemplateDoesNotExist(f"notifications/{language}/{event}/{part}.txt")
    with translation.override(language):
        return template.render(Context(context, autoescape=False)).strip()


def notification_render(*, event, language, context):
    """``(title, body, sms_text)`` of ``event`` in ``language``: templates that are only text
    and plain variables (the generic ones most messages use) are filled in directly, as Django
    renders them (``_plain_fill``; aftersales/tests/test_sweep_batch.py compares the two), the
    others rendered by Django; no SMS template: the title."""
    ctx = {"platform_url": getattr(settings, "PLATFORM_URL", ""), "event": event, **(context or {})}
    parts = []
    for part in ("title", "body", "sms"):
        pieces = _plain_template(language, event, part)
        text = _plain_fill(pieces, ctx) if pieces else None
        if text is None:
            try:
                text = _render(language, event, part, ctx)
            except TemplateDoesNotExist:
                if part != "sms":
                    raise
                text = parts[0]
        parts.append(text)
    title, body, sms = parts
    return title[:200], body, sms


# -- writes ------------------------------------------------------------------------------------


def preference_for(user) -> NotificationPreference:
    pref = NotificationPreference.objects.filter(user_id=user.pk).first()
    return pref or NotificationPreference(user=user)


def _phone_of(user):
    profile = ConsumerProfile.objects.filter(user_id=user.pk).first()
    return profile.phone if profile is not None else ""


def _notification(*, user_id, event, language, rendered, subject, actor, now):
    """The inbox row of one message to ``user_id``, not saved yet."""
    title, body, sms_text = rendered
    return Notification(
        user_id=user_id,
        event=event,
        kind=event_kind(event),
        language=language,
        title=title,
        body=body,
        sms_text=sms_text[:500],
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=getattr(subject, "pk", None),
        merchant_id=getattr(subject, "merchant_id", None),
        actor_label=actor.label,
        created_at=now,
    )


def _delivery_specs(*, email_enabled, sms_enabled, email, phone, now):
    """The delivery rows of one message, as field values: in-app (sent at once), plus email
    and SMS when the user chose them."""
    rows = [
        {
            "channel": NotificationChannel.IN_APP,
            "status": DeliveryStatus.SENT,
            "attempts": 1,
            "sent_at": now,
            "created_at": now,
        }
    ]
    pending = {"status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now}
    if email_enabled and email:
        rows.append(
            {"channel": NotificationChannel.EMAIL, "recipient": email, "created_at": now, **pending}
        )
    if sms_enabled and phone:
        rows.append(
            {
                "channel": NotificationChannel.SMS,
                "recipient": mask_phone(phone),
                "created_at": now,
                **pending,
            }
        )
    return rows


# What a message needs of its recipient, as lookups from the user: their consumer profile's
# language and the channels they chose (NotificationPreference; NULL when they never chose).
_FACT_LOOKUPS = (
    "consumer__preferred_language",
    "notification_preference__email_enabled",
    "notification_preference__sms_enabled",
    "notification_preference__kinds",
)


def _channel_facts(language, email_enabled, sms_enabled, kinds, *, event):
    """``(language, email_enabled, sms_enabled)`` as a message of ``event`` uses them: a known
    language (else the default), the channels chosen for the event's kind of message, and the
    preference's defaults for a user who never chose."""
    language = (language or DEFAULT_LANGUAGE).lower()
    email, sms = kind_channels(
        _DEFAULT_EMAIL if email_enabled is None else email_enabled,
        _DEFAULT_SMS if sms_enabled is None else sms_enabled,
        kinds,
        event_kind(event),
    )
    return (language if language in LANGUAGES else DEFAULT_LANGUAGE, email, sms)


_DEFAULT_EMAIL = NotificationPreference._meta.get_field("email_enabled").default
_DEFAULT_SMS = NotificationPreference._meta.get_field("sms_enabled").default


def _recipient_row(pk):
    return User.objects.filter(pk=pk).values_list(*_FACT_LOOKUPS).first()


def _staff_rows(merchant_id):
    return (
        MerchantMember.objects.filter(merchant_id=merchant_id)
        .select_related("user")
        .annotate(**{f"notify_{i}": F(f"user__{name}") for i, name in enumerate(_FACT_LOOKUPS)})
    )


def merchant_staff(merchant_id):
    """The users of ``merchant_id``'s staff, in one query, each carrying what ``notify`` reads
    of a recipient (language and channels): notifying them reads nothing more."""
    users = []
    for member in _staff_rows(merchant_id):
        user = member.user
        user.notification_facts = tuple(
            getattr(member, f"notify_{i}") for i in range(len(_FACT_LOOKUPS))
        )
        users.append(user)
    return users


def _recipient_facts(user, event):
    """``(language, email_enabled, sms_enabled, phone)`` of a recipient in one query: the
    language and phone of their consumer profile (if any) and the channels they chose
    (``NotificationPreference``; email on and SMS off when they never chose)."""
    row = getattr(user, "notification_facts", None)  # loaded with the user (merchant_staff)
    if row is None:
        row = _recipient_row(user.pk) or (None, None, None, None)
    language, email_enabled, sms_enabled = _channel_facts(*row, event=event)
    phone = _phone_of(user) if sms_enabled else ""
    return language, email_enabled, sms_enabled, phone


def notify(*, recipient_user, event, context=None, subject=None, actor):
    """Put a message in ``recipient_user``'s inbox and send it on the channels they chose.

    Call inside the service's transaction: nothing is sent unless it commits. One read of the
    recipient's language and channels, then the inbox row, its deliveries and the subject's
    timeline event.
    """
    language, email_enabled, sms_enabled, phone = _recipient_facts(recipient_user, event)
    rendered = notification_render(event=event, language=language, context=context)
    now = clock.now()
    # No savepoint of its own: a caller that must survive a failed notification wraps it in
    # one (``notify_quietly``); otherwise the caller's transaction fails.
    with transaction.atomic(savepoint=False):
        notification = _notification(
            user_id=recipient_user.pk,
            event=event,
            language=language,
            rendered=rendered,
            subject=subject,
            actor=actor,
            now=now,
        )
        notification.save(force_insert=True)
        specs = _delivery_specs(
            email_enabled=email_enabled,
            sms_enabled=sms_enabled,
            email=recipient_user.email,
            phone=phone,
            now=now,
        )
        rows = NotificationDelivery.objects.bulk_create(
            [NotificationDelivery(notification=notification, **spec) for spec in specs]
        )
        if subject is not None:
            timeline_record(
                subject=subject,
                verb="notification.sent",
                actor=actor,
                data={
                    "event": event,
                    "user_id": recipient_user.pk,
                    "channels": [r.channel for r in rows],
                },
            )
        for row in rows:
            if row.status == DeliveryStatus.PENDING:
                transaction.on_commit(lambda pk=row.pk: enqueue("send_notification", pk))
    return notification


def notify_users(
    *, users=(), merchant_staff_of=None, event, context=None, subject=None, actor, quiet=False
):
    """``notify`` for the recipients of one message: ``users`` (users or ids) and, with
    ``merchant_staff_of``, the staff of that merchant after them. ``quiet``: when the message
    cannot be prepared (the recipients read, their phones decrypted and masked, the templates
    rendered) it is logged and nobody is told, instead of failing the caller; the rows, once
    prepared, are written as the caller's other rows are.

    A fixed number of statements whatever the number of recipients: one read of every
    recipient's address, language and channels (the phones of those who chose SMS, if any, in
    one more), one insert each for the inbox rows and their deliveries, and one timeline event
    of the subject naming every recipient and their channels. No savepoint of its own (see
    ``notify``). Returns the inbox rows."""
    try:
        prepared = _messages_prepare(
            users=users,
            merchant_staff_of=merchant_staff_of,
            event=event,
            context=context,
            subject=subject,
            actor=actor,
        )
    except Exception:
        if not quiet:
            raise
        log.warning("notification %s not prepared", event, exc_info=True)
        return []
    if not prepared:
        return []
    with transaction.atomic(savepoint=False):
        notifications = Notification.objects.bulk_create([n for n, _specs in prepared])
        deliveries, channels = [], {}
        for notification, (_n, specs) in zip(notifications, prepared, strict=True):
            deliveries += [NotificationDelivery(notification=notification, **s) for s in specs]
            channels.setdefault(str(notification.user_id), []).extend(s["channel"] for s in specs)
        deliveries = NotificationDelivery.objects.bulk_create(deliveries)
        if subject is not None:
            timeline_record(
                subject=subject,
                verb="notification.sent",
                actor=actor,
                data={
                    "event": event,
                    "user_ids": [n.user_id for n in notifications],
                    "channels": channels,
                },
            )
        for row in deliveries:
            if row.status == DeliveryStatus.PENDING:
                transaction.on_commit(lambda pk=row.pk: enqueue("send_notification", pk))
    return notifications


def _messages_prepare(*, users, merchant_staff_of, event, context, subject, actor):
    """``notify_users``'s reads and rendering, before anything is written: ``[(Notification,
    delivery field values), ...]`` in recipient order (``[]`` when there is nobody to tell)."""
    ids = [u if isinstance(u, int) else u.pk for u in users]
    who = Q(pk__in=ids)
    if merchant_staff_of is not None:
        who |= Q(merchant_member__merchant_id=merchant_staff_of)
    found = {
        row[0]: row
        for row in User.objects.filter(who)
        .order_by("pk")
        .values_list("pk", "email", "merchant_member__merchant_id", *_FACT_LOOKUPS)
    }
    staff = [
        pk
        for pk, row in found.items()
        if merchant_staff_of is not None and row[2] == merchant_staff_of
    ]
    recipients = [pk for pk in ids if pk in found] + staff
    if not recipients:
        return []
    facts = {pk: _channel_facts(*found[pk][3:], event=event) for pk in set(recipients)}
    sms_users = [pk for pk, (_language, _email, sms) in facts.items() if sms]
    phones = (
        dict(ConsumerProfile.objects.filter(user_id__in=sms_users).values_list("user_id", "phone"))
        if sms_users
        else {}
    )
    rendered = {
        language: notification_render(event=event, language=language, context=context)
        for language in sorted({facts[pk][0] for pk in recipients})
    }
    now = clock.now()
    prepared = []
    for pk in recipients:
        language, email_enabled, sms_enabled = facts[pk]
        notification = _notification(
            user_id=pk,
            event=event,
            language=language,
            rendered=rendered[language],
            subject=subject,
            actor=actor,
            now=now,
        )
        specs = _delivery_specs(
            email_enabled=email_enabled,
            sms_enabled=sms_enabled,
            email=found[pk][1],
            phone=phones.get(pk, ""),
            now=now,
        )
        prepared.append((notification, specs))
    return prepared


def notify_many(*, messages, actor):
    """``notify`` for a batch (a deadline-sweep batch): ``messages`` is a list of
    ``(user or user id, event, context, subject)``; returns the ids of the inbox rows.

    A fixed number of queries whatever the number of messages (one read of the recipients'
    addresses, languages and channels, the phones of those who chose SMS, then one insert each
    for inbox rows, deliveries and timeline events — one event per case and message, naming
    every recipient; ``aftersales.bulk.insert_rows``). The same inbox rows as ``notify``:
    templates that are only text and plain variables are filled in directly, the others
    rendered by Django; a context shared by several messages is rendered once. Email and SMS
    deliveries are not enqueued one broker message each: the periodic sender sweep
    (``notification_sweep``, every 30 s) sends them. Call inside the caller's transaction.
    """
    if not messages:
        return []
    ids = [m[0] if isinstance(m[0], int) else m[0].pk for m in messages]
    recipients = _batch_recipients(set(ids))
    default = NotificationPreference()
    unknown = (None, DEFAULT_LANGUAGE, default.email_enabled, default.sms_enabled, {})
    # The channels of each message: the recipient's choice for the kind of its event.
    channels = [
        kind_channels(*recipients.get(uid, unknown)[2:], event_kind(m[1]))
        for uid, m in zip(ids, messages, strict=True)
    ]
    sms_users = {uid for uid, (_email_on, sms_on) in zip(ids, channels, strict=True) if sms_on}
    phones = (
        {p.user_id: p.phone for p in ConsumerProfile.objects.filter(user_id__in=sms_users)}
        if sms_users
        else {}
    )
    now = clock.now()
    rendered = {}
    rows = []
    actor_label = actor.label
    for user_id, (_user, event, context, subject) in zip(ids, messages, strict=True):
        language = recipients.get(user_id, unknown)[1]
        key = (id(context), event, language)
        texts = rendered.get(key)
        if texts is None:
            texts = rendered[key] = notification_render(
                event=event, language=language, context=context
            )
        title, body, sms_text = texts
        rows.append(
            {
                "user_id": user_id,
                "event": event,
                "kind": event_kind(event),
                "language": language,
                "title": title,
                "body": body,
                "sms_text": sms_text[:500],
                "subject_type": subject._meta.label_lower if subject is not None else "",
                "subject_id": getattr(subject, "pk", None),
                "merchant_id": getattr(subject, "merchant_id", None),
                "actor_label": actor_label,
                "read_at": None,
                "created_at": now,
            }
        )
    notification_ids = insert_rows(Notification, rows, returning=True)
    deliveries, sent = [], {}
    for user_id, pk, (_user, event, _context, subject), (email_enabled, sms_enabled) in zip(
        ids, notification_ids, messages, channels, strict=True
    ):
        email = recipients.get(user_id, unknown)[0]
        specs = _delivery_specs(
            email_enabled=email_enabled,
            sms_enabled=sms_enabled,
            email=email,
            phone=phones.get(user_id),
            now=now,
        )
        for spec in specs:
            spec["notification_id"] = pk
        deliveries += specs
        if subject is not None:
            key = (subject._meta.label_lower, subject.pk, event)
            entry = sent.setdefault(key, (subject, {}))
            entry[1][user_id] = [spec["channel"] for spec in specs]
    insert_rows(NotificationDelivery, deliveries)
    # One timeline event per case and message: who was told, on which channels.
    fields = actor_columns(actor)
    insert_rows(
        TimelineEvent,
        [
            {
                "subject_type": label,
                "subject_id": pk,
                "merchant_id": getattr(subject, "merchant_id", None),
                "verb": "notification.sent",
                "data": {
                    "event": event,
                    "user_ids": list(users),
                    "channels": {str(u): c for u, c in users.items()},
                },
                "occurred_at": now,
                **fields,
            }
            for (label, pk, event), (subject, users) in sent.items()
        ],
    )
    return notification_ids


def _batch_recipients(user_ids):
    """``{user_id: (email, language, email_enabled, sms_enabled, kinds)}`` of ``notify_many``'s
    recipients in one query: the user's address, their consumer profile's language and the
    channels they chose (``NotificationPreference``: for every kind and per kind; its defaults
    when they never chose)."""
    found = User.objects.filter(pk__in=user_ids).values_list("pk", "email", *_FACT_LOOKUPS)
    out = {}
    for user_id, email, language, email_enabled, sms_enabled, kinds in found:
        language, email_enabled, sms_enabled = _channel_facts(
            language, email_enabled, sms_enabled, None, event=""
        )
        out[user_id] = (email, language, email_enabled, sms_enabled, kinds or {})
    return out


_FILL = object()


@functools.lru_cache(maxsize=1024)
def _plain_template(language, event, part):
    """The template of ``_template`` as pieces when it is only text and ``{{ name }}`` or
    ``{{ name|default:other }}`` (``other`` a name or a literal), as the generic templates are;
    ``None`` otherwise (and when there is no template). A piece is a text, or
    ``(name, fallback name, fallback literal)``."""
    template = _template(language, event, part)
    if template is None:
        return None
    pieces = []
    for node in template.nodelist:
        if type(node) is TextNode:
            pieces.append(str(node.s))
            continue
        if type(node) is not VariableNode:
            return None
        expression = node.filter_expression
        var = expression.var
        if not isinstance(var, Variable) or var.translate or len(var.lookups or ()) != 1:
            return None
        other = literal = None
        if expression.filters:
            if len(expression.filters) != 1:
                return None
            func, args = expression.filters[0]
            if func is not defaultfilters.default or len(args) != 1:
                return None
            lookup, arg = args[0]
            if not lookup:
                literal = str(arg)
            elif arg.translate or len(arg.lookups or ()) != 1:
                return None
            else:
                other = arg.lookups[0]
            if literal is None and other is None:
                return None
        pieces.append((var.lookups[0], other, literal))
    return tuple(pieces)


def _plain_fill(pieces, ctx):
    """The pieces of ``_plain_template`` filled from ``ctx`` and stripped, as Django renders
    them without autoescaping (a string is printed as is, ``default`` takes the other value
    when the first is empty); ``None`` when a value is missing or not a plain string, so that
    Django renders it."""
    out = []
    for piece in pieces:
        if type(piece) is str:
            out.append(piece)
            continue
        name, other, literal = piece
        value = ctx.get(name, _FILL)
        if type(value) is not str:
            return None
        if not value and (other is not None or literal is not None):
            value = literal if other is None else ctx.get(other, _FILL)
            if type(value) is not str:
                return None
        out.append(value)
    return "".join(out).strip()


def enqueue(task_name, *args):
    """Send a task to the broker; if it is unreachable, log it and let the sweep catch up."""
    # By name, from Celery's registry: the tasks (aftersales.messaging.tasks) call this module.
    task = current_app.tasks[f"aftersales.{task_name}"]
    try:
        task.apply_async(args=args, retry=False)
    except Exception:  # broker down: the row stays pending and the periodic sweep sends it
        log.warning(
            "could not enqueue %s%r; the sweep will pick it up", task_name, args, exc_info=True
        )


def notification_mark_read(*, notification, actor):
    """Mark one of the caller's own notifications read (idempotent)."""
    if notification.user_id != getattr(actor.user, "pk", None):
        raise NotFound()
    if notification.read_at is None:
        notification.read_at = clock.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def notification_mark_all_read(*, actor):
    user_id = getattr(actor.user, "pk", None)
    if user_id is None:
        return 0
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=clock.now()
    )


def notification_preference_update(*, actor, email_enabled=None, sms_enabled=None, kinds=None):
    """Choose channels (in-app is always on): ``email_enabled`` and ``sms_enabled`` for every
    kind of message, ``kinds`` per kind (``{"refunds": {"email": True, "sms": False}}``, kinds
    of ``MessageKind`` only; a kind given replaces that kind's earlier choice)."""
    user = actor.user
    if getattr(user, "pk", None) is None:
        raise NotFound()
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
        if email_enabled is not None:
            pref.email_enabled = email_enabled
        if sms_enabled is not None:
            pref.sms_enabled = sms_enabled
        if kinds:
            merged = dict(pref.kinds or {})
            for kind, chosen in kinds.items():
                if kind not in MessageKind.values:
                    raise RuleViolation(
                        gettext("没有这一类消息。"),
                        code="unknown_message_kind",
                        fields={"kind": kind},
                    )
                merged[kind] = {
                    channel: bool(chosen[channel])
                    for channel in ("email", "sms")
                    if chosen.get(channel) is not None
                }
            pref.kinds = merged
        pref.updated_at = clock.now()
        pref.save()
        timeline_record(
            subject=pref,
            verb="notification_preference.updated",
            actor=actor,
            data={"email": pref.email_enabled, "sms": pref.sms_enabled, "kinds": pref.kinds},
        )
    return pref


# -- sending -----------------------------------------------------------------------------------


def lease_due_rows(qs, *, limit, **filters):
    """Lock pending rows of ``qs`` that are due (skipping rows another worker holds) and lease
    them for ``LEASE``, so a worker that dies mid-send leaves them to be retried. Shared by the
    notification and webhook senders."""
    now = clock.now()
    with transaction.atomic():
        rows = list(
            qs.select_for_update(skip_locked=True, of=("self",))
            .filter(status="pending", next_attempt_at__lte=now, **filters)
            .order_by("next_attempt_at")[:limit]
        )
        if rows:
            qs.model.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


def _send(delivery):
    notification = delivery.notification
    if delivery.channel == NotificationChannel.EMAIL:
        send_mail(
            notification.title,
            notification.body,
            settings.DEFAULT_FROM_EMAIL,
            [notification.user.email],
            fail_silently=False,
        )
        return ""
    if delivery.channel == NotificationChannel.SMS:
        phone = _phone_of(notification.user)
        text = notification.sms_text or notification.title
        return sms_provider().send(phone=phone, text=text).message_id
    return ""


def notification_delivery_attempt(*, delivery_id):
    """Send one pending delivery if it is due; record the result and the next attempt."""
    rows = lease_due_rows(NotificationDelivery.objects.filter(pk=delivery_id), limit=1)
    for row in rows:
        _attempt(row)
    return bool(rows)


def _attempt(delivery):
    delivery = NotificationDelivery.objects.select_related("notification__user").get(pk=delivery.pk)
    try:
        message_id = _send(delivery)
        error = ""
    except Exception as exc:  # any provider/backend failure is retried
        message_id, error = "", f"{type(exc).__name__}: {exc}"[:2000]
    now = clock.now()
    delivery.attempts += 1
    if not error:
        delivery.status, delivery.sent_at, delivery.next_attempt_at = DeliveryStatus.SENT, now, None
        delivery.provider_message_id, delivery.error = message_id or "", ""
    else:
        delivery.error = error
        if delivery.attempts >= NotificationDelivery.MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        log.info(
            "notification delivery %s failed (attempt %s): %s",
            delivery.pk,
            delivery.attempts,
            error,
        )
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "sent_at",
            "next_attempt_at",
            "provider_message_id",
            "error",
        ]
    )
    return delivery


def notification_sweep(*, batch=20, max_batches=10):
    """Send every due pending email/SMS delivery (first tries the broker lost, and retries)."""
    done = 0
    channels = [NotificationChannel.EMAIL, NotificationChannel.SMS]
    for _ in range(max_batches):
        rows = lease_due_rows(
            NotificationDelivery.objects.filter(channel__in=channels), limit=batch
        )
        if not rows:
            break
        for row in rows:
            _attempt(row)
            done += 1
    return done


def notification_delivery_retry(*, delivery, actor):
    """Staff: send a failed or pending delivery again now."""
    with transaction.atomic():
        row = NotificationDelivery.objects.select_for_update().get(pk=delivery.pk)
        if row.channel == NotificationChannel.IN_APP:
            return row
        row.status, row.next_attempt_at = DeliveryStatus.PENDING, clock.now()
        row.save(update_fields=["status", "next_attempt_at"])
        timeline_record(
            subject=row.notification,
            verb="notification.retry",
            actor=actor,
            data={"delivery_id": row.pk, "channel": row.channel},
        )
        transaction.on_commit(lambda: enqueue("send_notification", row.pk))
    return row


# -- reads -------------------------------------------------------------------------------------


def notification_list(*, actor, unread=None, kind=None):
    """The caller's own inbox, newest first; ``unread`` True/False keeps the unread/read ones,
    ``kind`` one kind of message (``MessageKind``)."""
    user_id = getattr(actor.user, "pk", None)
    qs = Notification.objects.filter(user_id=user_id) if user_id else Notification.objects.none()
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-id").prefetch_related("deliveries")


def notification_unread_count(*, user):
    """How many of ``user``'s messages are unread (one query on the partial index)."""
    if getattr(user, "pk", None) is None:
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notify_quietly(**kwargs):
    """``notify`` for deadline handlers; returns whether it was sent.
    Failures to notify never fail the deadline: the timeline already records what happened."""
    try:
        with transaction.atomic():
            notify(**kwargs)
        return True
    except Exception:  # noqa: BLE001
        log.warning("notification %s failed", kwargs.get("event"), exc_info=True)
        return False
