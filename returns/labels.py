"""What the steps of a return request are called for people: the consumer's and the merchant's
pages, and the admin's timelines (``aftersales.casefile.timeline.timeline_verbs_register``)."""

from django.utils.translation import gettext_lazy

from .models import (
    ArbitrationStatus,
    ExchangeDifferencePaymentStatus,
    RefundStatus,
    ReturnRequestStatus,
    ShippingReimbursementStatus,
)

VERB_LABELS = {
    "return.requested": gettext_lazy("提交售后申请"),
    "return.evidence_added": gettext_lazy("上传凭证"),
    "return.pickup_booked": gettext_lazy("预约上门取件"),
    "return.pickup_failed": gettext_lazy("上门取件预约失败"),
    "return.parcel_scanned": gettext_lazy("退货包裹物流更新"),
    "return.arbitration_answered": gettext_lazy("商家提交仲裁答辩"),
    "return.arbitration_answer_overdue": gettext_lazy("商家仲裁答辩期满"),
    "return.inspection_requested": gettext_lazy("平台申请第三方检测"),
    "return.inspection_reported": gettext_lazy("第三方检测出具报告"),
    "return.arbitration_decided": gettext_lazy("平台作出仲裁裁决"),
    "return.refund_started": gettext_lazy("发起退款"),
    "return.refund_failed": gettext_lazy("退款失败"),
    "return.express_advanced": gettext_lazy("平台极速退款垫付"),
    "return.overridden": gettext_lazy("平台处理"),
    "return.refund_succeeded": gettext_lazy("退款成功"),
    "return.refund_partly_failed": gettext_lazy("部分退款失败"),
    "return.refund_retried": gettext_lazy("重新发起退款"),
    "return.express_advance": gettext_lazy("平台极速退款垫付"),
    "return.inspection_failed": gettext_lazy("第三方检测失败"),
    "return.inspection_attempt_failed": gettext_lazy("第三方检测申请失败，将重试"),
    "return.shipping_fee_declared": gettext_lazy("消费者申报退货运费"),
    "return.shipping_reimbursement_started": gettext_lazy("发起退货运费报销"),
    "return.shipping_reimbursement_retried": gettext_lazy("重新发起退货运费报销"),
    "return.shipping_reimbursed": gettext_lazy("退货运费已报销"),
    "return.shipping_reimbursement_failed": gettext_lazy("退货运费报销失败"),
    "return.difference_payment_started": gettext_lazy("发起换货差价支付"),
    "return.difference_paid": gettext_lazy("换货差价已支付"),
    "return.difference_payment_failed": gettext_lazy("换货差价支付失败"),
    "return.difference_refund_started": gettext_lazy("发起差价退还"),
    "return.difference_refunded": gettext_lazy("差价已退还"),
    "return.difference_refund_failed": gettext_lazy("差价退还失败"),
    "return.insurance_claimed": gettext_lazy("向保险公司申请运费险理赔"),
    "return.insurance_paid": gettext_lazy("运费险已赔付"),
    "return.insurance_rejected": gettext_lazy("运费险拒赔"),
    "return.insurance_attempt_failed": gettext_lazy("运费险理赔请求超时，将重试"),
    "return.insurance_failed": gettext_lazy("运费险理赔失败"),
    "return.address_chosen": gettext_lazy("商家指定退货地址"),
    "return_address.created": gettext_lazy("新增退货地址"),
    "return_address.updated": gettext_lazy("修改退货地址"),
    "return_address.archived": gettext_lazy("停用退货地址"),
    "return.dispute_withdrawn": gettext_lazy("商家撤回验货异议"),
    "return.express_recovery": gettext_lazy("向商家追偿极速退款垫付款"),
    "return.express_recovery_started": gettext_lazy("从商家结算款扣回垫付款"),
    "return.express_recovery_succeeded": gettext_lazy("垫付款已从商家结算款扣回"),
    "return.express_recovery_failed": gettext_lazy("垫付款扣回失败，将重试"),
    "return.express_clawback": gettext_lazy("向消费者追回极速退款垫付款"),
    "return.express_clawback_started": gettext_lazy("向消费者收取追回款"),
    "return.express_clawback_succeeded": gettext_lazy("垫付款已向消费者追回"),
    "return.express_clawback_failed": gettext_lazy("垫付款追回失败，将重试"),
    "return.express_clawback_cancelled": gettext_lazy("包裹已送达，撤销追回"),
    "return.express_clawback_cancelled_started": gettext_lazy("退还已追回的垫付款"),
    "return.express_clawback_cancelled_succeeded": gettext_lazy("已追回的垫付款已退还"),
    "return.express_clawback_cancelled_failed": gettext_lazy("退还追回款失败，将重试"),
}


def timeline_verb_labels():
    """Every verb a return request's timeline (with its arbitration and refund) can hold: the
    named steps above, and each status move — ``return.<status>`` by the request's services,
    ``status.<status>`` by the kernel's status move for the arbitration and the refund."""
    labels = {f"return.{value}": label for value, label in ReturnRequestStatus.choices}
    for choices in (
        ExchangeDifferencePaymentStatus.choices,
        ShippingReimbursementStatus.choices,
        ArbitrationStatus.choices,
        RefundStatus.choices,
    ):
        labels |= {f"status.{value}": label for value, label in choices}
    labels |= {
        "return.inspected": gettext_lazy("商家验收退货"),
        "return.pickup_slot_expired": gettext_lazy("预约的取件时段已过"),
        "pickup.cancelled": gettext_lazy("取消上门取件"),
        "arbitration.inspecting": gettext_lazy("第三方检测中"),
        "arbitration.inspection_reported": gettext_lazy("第三方检测出具报告"),
        "arbitration.decided": gettext_lazy("平台作出仲裁裁决"),
    }
    return labels | VERB_LABELS
