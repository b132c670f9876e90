"""Every page of the staff console renders, with data, and no value on it hides an error.

Django's admin shows ``-`` (the empty value) when a read-only field or a ``list_display`` callable
raises ``AttributeError``, ``ValueError`` or ``ObjectDoesNotExist``, so a broken display method
(the return page's "待办期限: -") looks like an empty value. This test loads the demo data, gives
every registered model a row, then for every model admin (and its inlines) calls each read-only
field and each ``list_display`` entry on a row with ``lookup_field`` and lets the error raise,
and renders the changelist and the change page as a superuser.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import lookup_field
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from aftersales import clock
from aftersales.tenancy.models import User

pytestmark = pytest.mark.django_db(transaction=False)


def _extra_rows(staff):
    """Rows the demo data does not make, through the services where a service writes them."""
    from aftersales.api.models import IdempotencyRecord
    from aftersales.deadlines.models import Holiday
    from aftersales.messaging.models import InboundCallback, NotificationPreference
    from aftersales.messaging.sms import sms_provider
    from aftersales.messaging.webhooks import webhook_endpoint_create
    from aftersales.policies import policy_set
    from aftersales.tenancy.actors import actor_for_user
    from aftersales.tenancy.models import ConsumerProfile
    from aftersales.tenancy.reveal import pii_reveal
    from aftersales.tests import factories as kernel
    from orders.logistics import logistics_alert_raise
    from orders.models import Shipment
    from returns import services
    from returns.services import payments
    from returns.tests.test_admin import in_arbitration
    from returns.tests.test_services_exchange_difference import settle_transfers, spec_exchange
    from returns.tests.test_services_shipping import approved, refunded

    actor = actor_for_user(staff)
    Holiday.objects.create(date=clock.today(), kind="holiday", name="测试假日")
    kernel.api_key("platform")
    policy_set(key="returns.express_refund_credit_threshold", value=650, actor=actor)
    webhook_endpoint_create(
        actor=actor, url="https://hooks.example.com/console", event_types=["return.approved"]
    )
    consumer = ConsumerProfile.objects.order_by("pk").first()
    pii_reveal(actor=actor, subject=consumer, fields=["phone"], reason="console check")
    NotificationPreference.objects.create(user=consumer.user, sms_enabled=True)
    sms_provider().send(phone="13800138000", text="console check")
    IdempotencyRecord.objects.create(
        owner="o", key="k", method="POST", path="/api/", request_hash="x", status_code=201
    )
    InboundCallback.objects.create(provider="sandbox", event_id="e-1", event_type="check")
    logistics_alert_raise(
        shipment=Shipment.objects.order_by("pk").first(), reason="stale", actor=actor
    )
    # returns: an inspection in arbitration, a paid price difference, a shipping reimbursement
    case = in_arbitration()
    services.arbitration_inspection_request(request=case, actor=actor)
    request, consumer_actor, merchant = spec_exchange()
    payments.exchange_difference_pay(request=request, actor=consumer_actor)
    request, consumer_actor, merchant = approved()
    refunded(request, consumer_actor, merchant, "12.00")
    settle_transfers()
    services.return_address_create(
        actor=actor,
        merchant_id=request.merchant_id,
        warehouse="控制台仓",
        contact_name="仓管",
        phone="021-55550000",
        province="上海市",
        city="上海市",
        street="控制台路 1 号",
    )
    # sign-in records (django-axes): a failed sign-in, its log, a successful one
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    seen = {"user_agent": "console", "ip_address": "192.0.2.1", "path_info": "/accounts/login/"}
    AccessAttempt.objects.create(
        **seen,
        username="nobody",
        http_accept="*/*",
        get_data="",
        post_data="",
        failures_since_start=1,
    )
    AccessFailureLog.objects.create(**seen, username="nobody", http_accept="*/*")
    AccessLog.objects.create(**seen, username=staff.username, http_accept="*/*")
    # an insurance claim of a no-reason return of a line with 运费险 (R8)
    from returns.tests.test_services_insurance import insured_line, shipped_back

    shipped_back(insured_line())
    request, consumer_actor, merchant = approved(price="80.00")
    slot = clock.now() + timedelta(days=1)
    services.return_pickup_book(
        request=request, actor=consumer_actor, slot_start=slot, slot_end=slot + timedelta(hours=2)
    )
    # complaints: a complaint with its hash-chained records, a checkpoint, an incident
    from complaints.models import IntegrityIncident
    from complaints.services import checkpoint_publish
    from complaints.tests.factories import complain

    complaint = complain()
    checkpoint_publish()
    IntegrityIncident.objects.create(kind="chain", complaint=complaint, detail={"check": True})


def registered_models():
    return [m for m in apps.get_models() if admin.site.is_registered(m)]


@pytest.fixture(scope="module")
def console(django_db_setup, django_db_blocker):
    """The demo data once for the module (rolled back at the end)."""
    with django_db_blocker.unblock():
        from django.db import transaction

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", verbosity=0)
            user = User.objects.create_superuser("console-check", "c@example.com", "pass-1234")
            _extra_rows(user)
            yield user
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _field_is_relation_to_nothing(model, name):
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.is_relation and (field.one_to_one or field.many_to_one)


def _check_values(model_admin, names, obj, failures):
    for name in names:
        if name == "__str__" or name == "action_checkbox":
            continue
        try:
            lookup_field(name, obj, model_admin)
        except ObjectDoesNotExist:
            if not _field_is_relation_to_nothing(type(obj), name):
                failures.append(f"{type(model_admin).__name__}.{name} on {obj!r}: DoesNotExist")
        except Exception as e:  # noqa: BLE001 - any error is the finding
            failures.append(f"{type(model_admin).__name__}.{name} on {obj!r}: {e!r}")


def test_every_registered_model_has_a_row_to_show(console):
    empty = sorted(m._meta.label for m in registered_models() if not m.objects.exists())
    assert empty == [], "give these models a row in _extra_rows()"


def test_no_console_value_hides_an_error(console):
    request = RequestFactory().get("/admin/")
    request.user = console
    failures = []
    for model in registered_models():
        model_admin = admin.site.get_model_admin(model)
        for obj in model.objects.order_by("-pk")[:3]:
            names = list(model_admin.get_readonly_fields(request, obj))
            names += [n for n in model_admin.get_list_display(request) if isinstance(n, str)]
            _check_values(model_admin, names, obj, failures)
            for inline in model_admin.get_inline_instances(request, obj):
                rows = inline.get_queryset(request)
                fk = inline.fk_name or next(
                    f.name
                    for f in inline.model._meta.fields
                    if f.is_relation and f.related_model is model
                )
                for row in rows.filter(**{fk: obj})[:3]:
                    _check_values(inline, inline.get_readonly_fields(request, obj), row, failures)
    assert failures == []


@pytest.mark.parametrize("label", [m._meta.label for m in registered_models()])
def test_changelist_and_change_page_render(console, client, label):
    model = apps.get_model(label)
    client.force_login(console)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    obj = model.objects.order_by("-pk").first()
    if obj is None:
        pytest.skip(f"no {label} row")
    page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert page.status_code == 200, label


def test_the_return_page_shows_its_pending_deadlines(console, client):
    """The regression: "待办期限" showed "-" on every return (a property assigned to)."""
    from aftersales.deadlines.engine import deadlines_for
    from returns.models import ReturnRequest

    request = next(r for r in ReturnRequest.objects.order_by("pk") if deadlines_for(r))
    client.force_login(console)
    page = client.get(reverse("admin:returns_returnrequest_change", args=[request.pk]))
    html = page.content.decode()
    assert 'data-testid="deadlines"' in html
    assert "无待办期限" not in html
    for deadline in deadlines_for(request):
        assert deadline.description in html
