"""The exchange price difference and the shipping reimbursement share ``ExtraPayment``: the
same gateway-transfer fields, ``__str__`` and their own prefix of gateway request ids."""

from decimal import Decimal

import pytest

from returns.models import ExchangeDifferencePayment, ExtraPayment, ShippingReimbursement


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "prefix"), [(ExchangeDifferencePayment, "xd"), (ShippingReimbursement, "rs")]
)
def test_request_ids_and_text(model, prefix):
    row = model(request_id=42, amount=Decimal("12.50"), status="pending", attempts=3)
    assert issubclass(model, ExtraPayment) and not model._meta.abstract
    assert row.request_id_for() == f"{prefix}-42-a3"
    assert row.request_id_for(5) == f"{prefix}-42-a5"
    assert str(row) == f"42 ¥12.50 {row.get_status_display()}" and "pending" not in str(row)


@pytest.mark.parametrize("model", [ExchangeDifferencePayment, ShippingReimbursement])
def test_shared_fields_keep_their_definition(model):
    merchant, transfer = model._meta.get_field("merchant"), model._meta.get_field("transfer")
    assert merchant.remote_field.related_name == "+" and not merchant.null
    assert transfer.null and transfer.blank and transfer.remote_field.related_name == "+"
    assert transfer.related_model._meta.label == "orders.GatewayTransfer"
    assert str(model._meta.get_field("failure_reason").verbose_name) == "失败原因"
    assert model._meta.get_field("failure_reason").max_length == 200
    assert str(model._meta.get_field("requested_at").verbose_name) == "发起时间"
