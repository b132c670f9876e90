"""Exchanges (R17, R18): the merchant ships the replacement once the goods are back (and a positive
price difference is paid); the exchange completes when the replacement is signed for.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.errors import Conflict, RuleViolation
from aftersales.tenancy.actors import SYSTEM
from orders import services as order_services
from orders.models import Shipment, Sku

from ..models import Refund, ReturnRequest
from . import payments
from .common import check_scope, locked_request, notify_parties, publish, require_merchant
from .moves import move
from .parcel import tracking_clean
from .refunds import refund_start


def exchange_ship(*, request, actor, carrier, tracking_number):
    """The merchant ships the replacement of an exchange (standard 6.3.4): an ``orders.Shipment``
    of purpose ``replacement``, insured for high-value lines (R17). A new spec's stock is taken;
    a negative price difference is refunded; a positive one must have been paid by the consumer
    first (R18, ``price_difference_unpaid``). Return shipping the merchant pays is reimbursed
    now (R9). The request completes when the replacement is signed for."""
    carrier, tracking_number = tracking_clean(carrier, tracking_number)
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        if not request.is_exchange:
            raise Conflict(_("只有换货申请需要发出换货。"), code="not_an_exchange")
        if request.status == "received" and request.inspection_intact is False:
            raise Conflict(_("验货有异议的申请须经仲裁。"), code="return_disputed")
        if request.status != "received":
            raise Conflict(
                _("收到退回的商品后才能发出换货。"),
                code="invalid_status_transition",
                fields={"status": request.status, "to": "exchange_shipped"},
            )
        payments.require_difference_paid(request)
        sku = request.exchange_sku or request.line.sku
        sku = Sku.objects.select_for_update().get(pk=sku.pk)
        if sku.pk != request.line.sku_id:
            if sku.stock < request.quantity:
                raise RuleViolation(
                    _("所选规格库存不足（剩余 %(stock)s 件）（R18）。") % {"stock": sku.stock},
                    code="exchange_out_of_stock",
                    fields={"stock": sku.stock},
                )
            sku.stock -= request.quantity
            sku.save(update_fields=["stock"])
        shipment = order_services.shipment_create(
            line=request.line,
            carrier=carrier,
            tracking_number=tracking_number,
            actor=SYSTEM if actor.platform_write else actor,
            purpose=Shipment.Purpose.REPLACEMENT,
        )
        request.replacement_shipment = shipment
        request.save(update_fields=["replacement_shipment"])
        request = move(
            request,
            to="exchange_shipped",
            actor=actor,
            data={"shipment_id": shipment.pk, "insured": shipment.insured},
        )
        if request.price_difference < 0:
            refund_start(
                request,
                amount=-request.price_difference,
                actor=actor,
                source=Refund.Source.MERCHANT,
            )
        else:
            payments.shipping_reimburse(request, actor)
        publish(
            "return.exchange_shipped",
            request,
            shipment_id=shipment.pk,
            carrier=carrier,
            tracking_number=tracking_number,
            insured=shipment.insured,
            price_difference=str(request.price_difference),
        )
        notify_parties(
            request,
            "return.exchange_shipped",
            to=("consumer",),
            actor=actor,
            carrier=carrier,
            tracking_number=tracking_number,
            insured=shipment.insured,
        )
        check_scope(request, actor)
    return request


def exchange_delivered(*, shipment, actor=SYSTEM):
    """The replacement parcel was signed for (``shipment.signed``): the exchange is completed."""
    request = ReturnRequest.objects.filter(replacement_shipment_id=shipment.pk).first()
    if request is None:
        return None
    with transaction.atomic():
        request = locked_request(request)
        if request.status != "exchange_shipped":
            return request
        request = move(request, to="completed", actor=actor)
        publish("return.completed", request, shipment_id=shipment.pk)
        notify_parties(request, "return.completed", actor=actor)
    return request
