"""Every policy of returns (RULES.md values marked **policy**), registered with the kernel from
``ReturnsConfig.ready``: default, meaning and bounds in one place."""

from django.utils.translation import gettext_lazy as _

from aftersales.policies import PolicyKey, policy_keys_register

REIMBURSEMENT_MAX = "returns.shipping_reimbursement_max"

policy_keys_register(
    {
        "returns.auto_approve_hours": PolicyKey(
            48, _("商家未处理退货申请自动同意（小时）RULES.md R13"), value_range=(1, None)
        ),
        "returns.close_unshipped_days": PolicyKey(
            7, _("同意退货后买家未寄回自动关闭（天）R14"), value_range=(1, None)
        ),
        "returns.close_reminder_hours": PolicyKey(24, _("关闭前提醒买家（小时）R14")),
        "returns.refund_after_receipt_days": PolicyKey(
            7, _("商家收货后退款期限（天）R6，法定上限"), value_range=(1, None), law_max=7
        ),
        "returns.receipt_confirm_days": PolicyKey(
            10,
            _("买家寄回后商家确认收货期限（天），逾期平台按已收货退款 R20"),
            value_range=(1, None),
        ),
        "returns.arbitration_answer_days": PolicyKey(
            3,
            _("仲裁中商家答辩期限（天），平台在答辩后或期满后裁决 R21"),
            value_range=(1, None),
        ),
        "returns.express_refund_credit_threshold": PolicyKey(
            600, _("极速退款信用分门槛（0–1000）R12"), value_range=(0, 1000)
        ),
        "returns.high_value_threshold": PolicyKey("5000.00", _("高价值商品保价门槛（元）R17")),
        "returns.express_clawback_days": PolicyKey(
            15,
            _("极速退款后退货包裹未送达，向消费者追回垫付款（天）R12"),
            value_range=(1, 365),
        ),
        "returns.free_return_shipping": PolicyKey(False, _("商家承诺退货免运费（R8）")),
        REIMBURSEMENT_MAX: PolicyKey("30.00", _("商家承担退货运费时随退款报销的运费上限（元）R9")),
        "returns.problem_min_quality_units": PolicyKey(
            3, _("高频问题商品：期间内质量原因退货件数下限 标准 6.4.2.1"), value_range=(1, None)
        ),
        "returns.problem_quality_rate_percent": PolicyKey(
            5, _("高频问题商品：质量原因退货率下限（百分比）标准 6.4.2.1"), value_range=(0, 100)
        ),
    }
)
