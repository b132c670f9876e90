"""What the steps of the catalog, orders, payments and parcels are called for people: the
admin's and the portals' timelines (``aftersales.casefile.timeline.timeline_verbs_register``)."""

from django.utils.translation import gettext_lazy

from .models import Order

VERB_LABELS = {
    "category.created": gettext_lazy("创建类目"),
    "category.updated": gettext_lazy("修改类目"),
    "product.created": gettext_lazy("创建商品"),
    "product.updated": gettext_lazy("修改商品"),
    "sku.created": gettext_lazy("创建规格"),
    "sku.updated": gettext_lazy("修改规格"),
    "sku.price_changed": gettext_lazy("调整价格"),
    "order.created": gettext_lazy("创建订单"),
    "order.paid": gettext_lazy("订单付款"),
    "order.status_changed": gettext_lazy("订单状态变更"),
    "order.line_cancelled": gettext_lazy("取消订单商品"),
    "order.line_unsealed": gettext_lazy("数字商品已下载或拆封"),
    "order.shipping_changed": gettext_lazy("修改运费信息"),
    "payment.recorded": gettext_lazy("记录支付"),
    "refund.requested": gettext_lazy("向支付渠道发起退款"),
    "refund.succeeded": gettext_lazy("支付渠道退款成功"),
    "refund.failed": gettext_lazy("支付渠道退款失败"),
    "refund.attempt_failed": gettext_lazy("支付渠道退款请求失败，将重试"),
    "charge.requested": gettext_lazy("向支付渠道发起扣款"),
    "charge.succeeded": gettext_lazy("扣款成功"),
    "charge.failed": gettext_lazy("扣款失败"),
    "charge.attempt_failed": gettext_lazy("扣款请求失败，将重试"),
    "payout.requested": gettext_lazy("向支付渠道发起打款"),
    "payout.succeeded": gettext_lazy("打款成功"),
    "payout.failed": gettext_lazy("打款失败"),
    "payout.attempt_failed": gettext_lazy("打款请求失败，将重试"),
    "deduction.requested": gettext_lazy("向支付渠道发起商家结算扣款"),
    "deduction.succeeded": gettext_lazy("商家结算扣款成功"),
    "deduction.failed": gettext_lazy("商家结算扣款失败"),
    "deduction.attempt_failed": gettext_lazy("商家结算扣款请求失败，将重试"),
    "pickup.requested": gettext_lazy("预约上门取件"),
    "pickup.confirmed": gettext_lazy("快递公司确认取件预约"),
    "pickup.failed": gettext_lazy("上门取件预约失败"),
    "pickup.cancelled": gettext_lazy("取消上门取件"),
    "shipment.created": gettext_lazy("录入发货"),
    "shipment.tracking_event": gettext_lazy("物流轨迹更新"),
    "shipment.signed_off": gettext_lazy("包裹签收"),
    "logistics.alert": gettext_lazy("物流异常预警"),
    "logistics.alert_resolved": gettext_lazy("物流异常已处理"),
}


def timeline_verb_labels():
    """Every verb the orders app records: the named steps above and the order's status moves
    (``status.<status>``)."""
    return {f"status.{value}": label for value, label in Order.Status.choices} | VERB_LABELS
