"""Demo return requests (``manage.py seed_demo``): a few cases in each state of the workflow,
made through the services so their timelines, deadlines, refunds and notifications are real.

Picks lines of the orders demo signed for within the last days (inside the R1 window) and one
line not shipped yet (R11). The gateway's answers are recorded at once (as its callback would),
so refunded cases are complete; everything else waits for the merchant, the consumer or a
deadline, exactly as in the portals.
"""

from datetime import timedelta
from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from orders.models import GatewayRefund, OrderLine, Shipment
from orders.services import gateway_refund_attempt_record
from returns import services


def _photo(name):
    """A small plain PNG (a real image: uploads are decoded, issue 14): evidence of the quality
    and dispute cases."""
    out = BytesIO()
    Image.new("RGB", (48, 48), (228, 57, 60)).save(out, format="PNG")
    return ContentFile(out.getvalue(), name=name)


def _settle(request):
    for gateway_refund in GatewayRefund.objects.filter(
        request_id__startswith=f"rf-{request.refund.pk}-", status="pending"
    ):
        gateway_refund_attempt_record(
            refund=gateway_refund,
            outcome="succeeded",
            gateway_ref=f"DEMO{gateway_refund.pk:08d}",
            actor=SYSTEM,
        )


def _candidates(ctx):
    now = clock.now()
    orders = [o.pk for o in ctx.data.get("orders", [])]
    signed = (
        OrderLine.objects.filter(
            order_id__in=orders,
            cancelled_at__isnull=True,
            shipments__purpose=Shipment.Purpose.OUTBOUND,
            shipments__signed_at__gte=now - timedelta(days=5),
            sku__product__category__no_reason_class="allowed",
        )
        .select_related("order__consumer", "sku__product__category")
        .order_by("pk")
        .distinct()
    )
    unshipped = (
        OrderLine.objects.filter(
            order_id__in=orders, order__status="paid", cancelled_at__isnull=True
        )
        .exclude(shipments__purpose=Shipment.Purpose.OUTBOUND)
        .order_by("pk")
    )
    return list(signed), list(unshipped[:1])


def _create(line, *, kind="return_refund", reason="no_reason", evidence=()):
    return services.return_request_create(
        line=line,
        kind=kind,
        reason=reason,
        quantity=1,
        actor=SYSTEM,
        description="演示售后申请",  # i18n-exempt: demo data
        evidence=evidence,
    )


def _ship_back(request, tracking):
    return services.return_ship_back(
        request=request, actor=SYSTEM, carrier="SF", tracking_number=tracking
    )


def _return_addresses():
    """Each demo merchant's warehouse takes returns (the approvals below pick it)."""
    from aftersales.tenancy.models import Merchant

    for n, merchant in enumerate(Merchant.objects.order_by("pk"), start=1):
        services.return_address_create(
            actor=SYSTEM,
            merchant_id=merchant.pk,
            warehouse=f"{merchant.name}退货仓",  # i18n-exempt: demo data
            contact_name="售后收货组",  # i18n-exempt: demo data
            phone=f"021-6666{n:04d}",
            province="上海市",  # i18n-exempt: demo data
            city="上海市",  # i18n-exempt: demo data
            district="嘉定区",  # i18n-exempt: demo data
            street=f"叶城路 {100 + n} 号 {n} 号库",  # i18n-exempt: demo data
            postal_code="201800",
        )


def seed(ctx):
    _return_addresses()
    signed, unshipped = _candidates(ctx)
    made = []
    steps = [
        "requested",
        "approved",
        "return_shipped",
        "received",
        "refunded",
        "quality_requested",
        "arbitration",
        "disputed",
        "express",
    ]
    for step, line in zip(steps, signed, strict=False):
        express_ok = line.order.consumer.credit_score >= 600
        tracking = f"SFR{line.pk:08d}"
        if step == "quality_requested":
            request = _create(line, reason="quality", evidence=[_photo("quality.png")])
        else:
            request = _create(line)
        if step not in ("requested", "quality_requested"):
            if step == "arbitration":
                services.return_request_reject(
                    request=request,
                    actor=SYSTEM,
                    reason="商品已拆封使用，影响二次销售",  # i18n-exempt: demo data
                )
                services.return_escalate(
                    request=request,
                    actor=SYSTEM,
                    statement="商品仅试穿，吊牌完好，请平台核实",  # i18n-exempt: demo data
                    evidence=[_photo("tag.png")],
                )
                services.arbitration_answer(
                    request=request,
                    actor=SYSTEM,
                    statement="收到的商品有明显穿着痕迹",  # i18n-exempt: demo data
                )
            else:
                services.return_request_approve(request=request, actor=SYSTEM)
        if step in ("return_shipped", "received", "refunded", "disputed", "express"):
            _ship_back(request, tracking)
        if step == "express" and express_ok:
            services.return_parcel_scan_record(
                request=request, kind="picked_up", occurred_at=clock.now(), actor=SYSTEM
            )
        if step in ("received", "refunded"):
            services.return_receive(
                request=request,
                actor=SYSTEM,
                intact=True,
                note="包装完好",  # i18n-exempt: demo data
            )
        if step == "refunded":
            services.return_refund(request=request, actor=SYSTEM)
            request.refresh_from_db()
            _settle(request)
        if step == "disputed":
            services.return_receive(
                request=request,
                actor=SYSTEM,
                intact=False,
                note="退回商品外壳破损",  # i18n-exempt: demo data
                evidence=[_photo("broken.png")],
            )
        made.append(request)
    for line in unshipped:
        request = services.return_request_create(
            line=line,
            kind="refund_only",
            reason="changed_mind",
            quantity=line.quantity,
            actor=SYSTEM,
            description="未发货，不想要了",  # i18n-exempt: demo data
        )
        request.refresh_from_db()
        _settle(request)
        made.append(request)
    ctx.data["return_requests"] = made
    ctx.count("return_requests", len(made))
