"""Forms of the consumer pages and the merchant portal of returns (issue 4).

Forms only parse and bound the input; every rule is decided by ``returns.services``, whose
``RuleViolation``/``InvalidInput`` codes become errors of the field they concern
(``add_domain_error``).
"""

from datetime import datetime, time, timedelta

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.upload_fields import UploadField
from orders.forms import CARRIER_CHOICES, tracking_number_field

from . import rules
from .models import ReturnRequest
from .uploads import EVIDENCE_ACCEPT

MAX_EVIDENCE_FILES = 9

# Which field a service error code concerns (the rest are shown above the form).
ERROR_FIELDS = {
    "quantity": "quantity",
    "evidence": "evidence",
    "exchange": "exchange_sku",
    "sku": "exchange_sku",
    "reason": "reason",
    "no_reason": "reason",
    "kind": "kind",
    "carrier": "carrier",
    "tracking": "tracking_number",
    "slot": "slot",
    "pickup": "slot",
    "statement": "statement",
    "inspection": "intact",
}


def add_domain_error(form, exc):
    """Put a service's ``DomainError`` on the form: on the fields it names (``exc.fields``),
    else on the field its code is about, else above the form."""
    named = [name for name in (exc.fields or {}) if name in form.fields]
    if not named:
        for prefix, name in ERROR_FIELDS.items():
            if exc.code.startswith(prefix) and name in form.fields:
                named = [name]
                break
    message = exc.message
    if named:
        for name in named:
            form.add_error(name, forms.ValidationError(message, code=exc.code))
    else:
        form.add_error(None, forms.ValidationError(message, code=exc.code))
    return form


def evidence_field(*, stage, **kwargs):
    """Up to nine files of the kinds the evidence of ``stage`` takes
    (``returns.uploads.EVIDENCE_ACCEPT``), each checked for what it is (issue 14)."""
    return UploadField(accept=EVIDENCE_ACCEPT[stage], max_files=MAX_EVIDENCE_FILES, **kwargs)


REASON_CHOICES = [
    (value, label)
    for value, label in ReturnRequest.Reason.choices
    if value != ReturnRequest.Reason.WARRANTY
]


class ReturnRequestForm(forms.Form):
    """What the consumer asks for on an order line (standard 6.3; RULES.md R1–R18)."""

    kind = forms.ChoiceField(
        label=_("售后类型"), choices=ReturnRequest.Kind.choices, widget=forms.RadioSelect
    )
    reason = forms.ChoiceField(
        label=_("申请原因"), choices=[("", _("请选择原因")), *REASON_CHOICES]
    )
    quantity = forms.IntegerField(label=_("数量"), min_value=1, initial=1)
    exchange_sku = forms.TypedChoiceField(
        label=_("换成的规格"), required=False, coerce=int, empty_value=None
    )
    description = forms.CharField(
        label=_("问题描述"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("请描述商品的问题或您的诉求")}),
    )
    evidence = evidence_field(
        stage="request",
        label=_("照片或视频"),
        help_text=_("质量问题、商品破损、与描述不符等原因需上传照片或视频（最多 9 个）。"),
    )

    def __init__(self, *args, kinds=None, max_quantity=1, exchange_skus=(), **kwargs):
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [
                c for c in ReturnRequest.Kind.choices if c[0] in set(kinds)
            ]
            if len(self.fields["kind"].choices) == 1:
                self.fields["kind"].initial = self.fields["kind"].choices[0][0]
        self.fields["quantity"].max_value = max(1, max_quantity)
        self.fields["quantity"].widget.attrs.update({"min": 1, "max": max(1, max_quantity)})
        self.fields["quantity"].validators.append(MaxValueValidator(max(1, max_quantity)))
        self.fields["exchange_sku"].choices = [("", _("请选择规格")), *exchange_skus]

    def clean(self):
        data = super().clean()
        reason = data.get("reason")
        if reason and rules.reason_needs_evidence(reason) and not data.get("evidence"):
            self.add_error(
                "evidence",
                forms.ValidationError(
                    _("该原因需要上传商品问题的照片或视频。"), code="evidence_required"
                ),
            )
        if data.get("kind") == ReturnRequest.Kind.SPEC_EXCHANGE and not data.get("exchange_sku"):
            self.add_error(
                "exchange_sku",
                forms.ValidationError(_("请选择要换成的规格。"), code="exchange_sku_required"),
            )
        return data


class ParcelForm(forms.Form):
    """A parcel the sender hands to a carrier: the consumer's return, the merchant's
    replacement (standard 6.3.2.3, 6.3.4.1)."""

    carrier = forms.ChoiceField(label=_("快递公司"), choices=CARRIER_CHOICES)
    tracking_number = tracking_number_field()


def shipping_fee_field():
    return forms.DecimalField(
        label=_("实付运费（元）"),
        required=False,
        min_value=0,
        max_value=999.99,
        decimal_places=2,
        help_text=_("质量问题或商家承诺退货免运费时，运费由商家承担并随退款报销，有上限。"),
    )


class ShipBackForm(ParcelForm):
    """The consumer's own return parcel, with the fee they paid (reimbursed when the merchant
    pays the return shipping, R9)."""

    shipping_fee = shipping_fee_field()


class PayDifferenceForm(forms.Form):
    """The consumer pays the positive price difference of a spec exchange (R18)."""

    method = forms.ChoiceField(
        label=_("支付方式"), choices=[("card", _("银行卡")), ("balance", _("余额"))], initial="card"
    )


PICKUP_SLOTS = ((9, 11), (11, 13), (13, 15), (15, 17), (17, 19))
PICKUP_DAYS = 3


def pickup_slot_choices(now=None):
    """Two-hour pickup slots of the next days (Shanghai), the ones not yet begun."""
    now = clock.local(now or clock.now())
    choices = []
    for offset in range(PICKUP_DAYS + 1):
        day = now.date() + timedelta(days=offset)
        for start, end in PICKUP_SLOTS:
            begin = datetime.combine(day, time(start), tzinfo=clock.SHANGHAI)
            if begin <= now + timedelta(hours=1):
                continue
            value = f"{day:%Y-%m-%d}T{start:02d}"
            label = f"{day:%m-%d} {start:02d}:00–{end:02d}:00"
            choices.append((value, label))
    return choices[: PICKUP_DAYS * len(PICKUP_SLOTS)]


def parse_slot(value):
    """``2026-11-30T09`` → the slot's (start, end) instants."""
    day, hour = value.split("T")
    start = datetime.combine(
        datetime.strptime(day, "%Y-%m-%d").date(), time(int(hour)), tzinfo=clock.SHANGHAI
    )
    length = dict(PICKUP_SLOTS)[int(hour)] - int(hour)
    return start, start + timedelta(hours=length)


class PickupForm(forms.Form):
    """A pickup slot (上门取件, RULES.md R16) at the order's delivery address."""

    slot = forms.ChoiceField(label=_("上门取件时间"))
    shipping_fee = shipping_fee_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = pickup_slot_choices()

    def clean_slot(self):
        return parse_slot(self.cleaned_data["slot"])


class ConfirmForm(forms.Form):
    """A destructive step the user confirmed (the page asks before it posts)."""

    confirm = forms.BooleanField(
        label=_("我已确认"),
        error_messages={"required": _("请勾选确认后再提交。")},
    )


class StatementForm(forms.Form):
    """A statement with evidence: escalation to arbitration (R19), an answer in it, a
    rejection."""

    statement = forms.CharField(
        label=_("陈述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    evidence = evidence_field(stage="arbitration", label=_("凭证"))


class EvidenceForm(forms.Form):
    """More photos or videos for a request still being worked on (R5, R19)."""

    evidence = evidence_field(stage="add", label=_("补充凭证"), required=True)
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class RejectForm(forms.Form):
    """The merchant refuses a request, with a reason and evidence (standard 6.3.1.1)."""

    reason = forms.CharField(
        label=_("拒绝原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    evidence = evidence_field(stage="reject", label=_("凭证"))


class InspectionForm(forms.Form):
    """The merchant's inspection of the returned goods at receipt (RULES.md R5)."""

    intact = forms.TypedChoiceField(
        label=_("验货结果"),
        choices=[("yes", _("商品完好")), ("no", _("商品不完好（需上传照片）"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("验货说明"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    evidence = evidence_field(stage="receive", label=_("验货凭证"))

    def clean(self):
        data = super().clean()
        if data.get("intact") is False and not data.get("evidence"):
            self.add_error(
                "evidence",
                forms.ValidationError(
                    _("商品不完好时须上传照片或视频作为凭证（R5）。"), code="evidence_required"
                ),
            )
        return data


class QueueFilterForm(forms.Form):
    """The merchant queue's filters; an invalid one is ignored."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("售后单号、订单号或商品名称"), "type": "search"}
        ),
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), ("open", _("处理中")), *ReturnRequest.Status.choices],
    )

    def filters(self):
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {k: v for k, v in data.items() if v not in (None, "") and k not in self.errors}


class ReturnAddressForm(forms.Form):
    """A warehouse's return address in the merchant portal (``services.return_address_*``)."""

    warehouse = forms.CharField(label=_("仓库"), max_length=60)
    contact_name = forms.CharField(label=_("收件人"), max_length=40)
    phone = forms.CharField(label=_("联系电话"), max_length=20)
    province = forms.CharField(label=_("省"), max_length=40)
    city = forms.CharField(label=_("市"), max_length=40)
    district = forms.CharField(label=_("区县"), max_length=40, required=False)
    street = forms.CharField(label=_("详细地址"), max_length=200)
    postal_code = forms.CharField(label=_("邮编"), max_length=10, required=False)
    is_default = forms.BooleanField(label=_("设为默认退货地址"), required=False)
