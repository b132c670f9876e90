"""Forms of the repairs pages: the consumer's repair request and remedy choice, the list
filters of the merchant portal and the provider pages, and the provider's steps of a repair.

Forms only parse input; the rules live in ``repairs.services`` and come back as
``RuleViolation`` codes, which ``form_error`` turns into a form error (STYLE.md rule 4).
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.upload_fields import UploadField

from . import rules
from .models import RepairEvidence, RepairOrder
from .uploads import FAULT_PHOTOS, MAX_FAULT_PHOTOS, REPAIR_EVIDENCE

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
G11_CHOICES = [
    (value, label)
    for value, label in RepairOrder.PaidReason.choices
    if value != RepairOrder.PaidReason.OUT_OF_PERIOD
]


def form_error(form, exc):
    """Put a service's ``DomainError`` on the form: on the field it names, else on the form.

    The message is the service's (Chinese first, says what to do); the stable code is kept on
    the error so pages and tests can tell them apart.
    """
    fields = getattr(exc, "fields", None) or {}
    target = next((name for name in fields if name in form.fields), None)
    form.add_error(target, ValidationError(exc.message, code=exc.code))


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _occurred_at(label, help_text=""):
    return forms.DateTimeField(
        label=label,
        input_formats=DATETIME_FORMATS,
        widget=DateTimeLocalInput(),
        help_text=help_text,
    )


class OccurredAtMixin:
    """``occurred_at`` defaults to now (Shanghai) and may not lie in the future."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and "occurred_at" in self.fields:
            self.initial.setdefault("occurred_at", clock.now().replace(second=0, microsecond=0))

    def clean_occurred_at(self):
        value = self.cleaned_data["occurred_at"]
        now = clock.now()
        if value == now.replace(second=0, microsecond=0):
            return now  # the default "now" shown to the minute: record the exact instant
        if value > now:
            raise ValidationError(_("时间不能晚于现在。"), code="occurred_at_in_future")
        return value


class ConfirmField(forms.BooleanField):
    """A required tick box before a step that cannot be undone."""

    def __init__(self, label, **kwargs):
        super().__init__(
            label=label,
            required=True,
            error_messages={"required": _("请先勾选确认，此操作提交后不能撤销。")},
            **kwargs,
        )


# -- consumer -------------------------------------------------------------------------------------


class RepairRequestForm(forms.Form):
    """The consumer reports a fault of one unit (one warranty card)."""

    card = forms.TypedChoiceField(label=_("哪一件商品"), coerce=int, required=False)
    fault_description = forms.CharField(
        label=_("故障描述"),
        min_length=5,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": _("请描述故障现象、出现时间和使用情况")}
        ),
    )
    service_mode = forms.ChoiceField(
        label=_("服务方式"),
        choices=RepairOrder.ServiceMode.choices,
        initial=RepairOrder.ServiceMode.SEND_IN,
        widget=forms.RadioSelect,
    )
    photos = UploadField(accept=FAULT_PHOTOS, max_files=MAX_FAULT_PHOTOS, label=_("故障照片"))

    def __init__(self, *args, cards=(), **kwargs):
        super().__init__(*args, **kwargs)
        cards = list(cards)
        if cards:  # the units of one line share a category: its service modes (no on-site phones)
            modes = rules.service_modes(cards[0].catalog_entry.code)
            self.fields["service_mode"].choices = [
                (value, label) for value, label in RepairOrder.ServiceMode.choices if value in modes
            ]
        if len(cards) > 1:
            self.fields["card"].required = True
            self.fields["card"].choices = [
                (
                    c.pk,
                    _("%(product)s · %(number)s · 序列号 %(serial)s")
                    % {"product": c.product_name, "number": c.number, "serial": c.serial_number}
                    if c.serial_number
                    else f"{c.product_name} · {c.number}",
                )
                for c in cards
            ]
        else:
            del self.fields["card"]


class RemedyChoiceForm(forms.Form):
    """The consumer chooses one of the remedies an escalation granted (exchange or refund)."""

    remedy = forms.ChoiceField(label=_("您的选择"), widget=forms.RadioSelect)
    exchange_sku = forms.TypedChoiceField(
        label=_("换成的型号或规格"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("同型号同规格无货时换货须选择，差价多退少补"),
    )
    confirm = ConfirmField(_("我确认选择此方案，提交后将按此方案处理"))

    def __init__(self, *args, remedies=(), alternatives=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remedy"].choices = list(remedies)
        if alternatives:
            self.fields["exchange_sku"].choices = [("", "—"), *alternatives]
        else:
            del self.fields["exchange_sku"]


# -- lists ----------------------------------------------------------------------------------------


class RepairFilterForm(forms.Form):
    """Filters of the repair lists; every field is optional and an invalid one is ignored."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("维修单号、商品名称或三包凭证号"), "type": "search"}
        ),
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), ("open", _("处理中")), *RepairOrder.Status.choices],
    )
    overdue = forms.ChoiceField(
        label=_("期限"),
        required=False,
        choices=[
            ("", _("全部")),
            ("overdue", _("已超时")),
            ("due_soon", _("3 日内到期")),
        ],
    )

    def filters(self):
        """The valid filters as the list selectors take them."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            key: value
            for key, value in data.items()
            if value not in (None, "") and key not in self.errors
        }


# -- provider steps -------------------------------------------------------------------------------


class ReceiveForm(OccurredAtMixin, forms.Form):
    """送修: the repairer received the unit, at its own time (G5/G6 count from it)."""

    occurred_at = _occurred_at(_("送修（收到商品）时间"), _("G5、G6 的期限从此时起算"))
    note = forms.CharField(label=_("备注"), required=False, max_length=300)


class DiagnoseForm(OccurredAtMixin, forms.Form):
    occurred_at = _occurred_at(_("检测时间"))
    diagnosis = forms.CharField(
        label=_("检测结论"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    paid_reason = forms.ChoiceField(
        label=_("不实行三包的原因（G11）"),
        required=False,
        choices=[("", _("无（三包免费维修）")), *G11_CHOICES],
    )


class PartsWaitStartForm(OccurredAtMixin, forms.Form):
    occurred_at = _occurred_at(_("开始等待配件时间"))
    parts = forms.CharField(label=_("所缺配件"), max_length=200)
    note = forms.CharField(label=_("说明"), required=False, max_length=300)


class PartsWaitEndForm(OccurredAtMixin, forms.Form):
    occurred_at = _occurred_at(_("配件到货时间"))
    note = forms.CharField(label=_("说明"), required=False, max_length=300)


class StartRepairForm(OccurredAtMixin, forms.Form):
    occurred_at = _occurred_at(_("开始维修时间"))


def _parse_parts(text):
    """``显示屏 × 1`` per line → ``[{"name": "显示屏", "quantity": 1}]``."""
    parts = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        name, quantity = line, 1
        for sep in ("×", "x", "X", "*"):
            if sep in line:
                left, _sep, right = line.rpartition(sep)
                if right.strip().isdigit() and left.strip():
                    name, quantity = left.strip(), int(right.strip())
                break
        if quantity <= 0:
            raise ValidationError(_("配件数量应为正整数：%(line)s") % {"line": line})
        parts.append({"name": name[:100], "quantity": quantity})
    return parts


class ResultForm(OccurredAtMixin, forms.Form):
    """The repair's result: fixed or not, parts, labour, free or paid (G11 reason)."""

    occurred_at = _occurred_at(_("完成时间"))
    result = forms.ChoiceField(
        label=_("维修结果"), choices=RepairOrder.Result.choices, widget=forms.RadioSelect
    )
    result_note = forms.CharField(
        label=_("维修说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    parts_replaced = forms.CharField(
        label=_("更换部件"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("每行一个，如：显示屏 × 1")}),
    )
    labour_fee = forms.DecimalField(
        label=_("人工费（元）"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0.00"),
    )
    parts_fee = forms.DecimalField(
        label=_("配件费（元）"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        initial=Decimal("0.00"),
    )
    is_paid = forms.TypedChoiceField(
        label=_("收费"),
        choices=[("0", _("免费（三包）")), ("1", _("付费维修"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    paid_reason = forms.ChoiceField(
        label=_("付费原因（G11）"),
        required=False,
        choices=[("", _("—")), *RepairOrder.PaidReason.choices],
    )

    def clean_parts_replaced(self):
        return _parse_parts(self.cleaned_data.get("parts_replaced"))

    def clean(self):
        data = super().clean()
        if data.get("is_paid") and not data.get("paid_reason"):
            self.add_error(
                "paid_reason",
                ValidationError(
                    _(
                        "付费维修必须注明原因（G11：使用不当、擅自拆动、凭证问题、不可抗力或超出三包期）。"
                    ),
                    code="paid_reason_required",
                ),
            )
        if data.get("is_paid") is False and data.get("paid_reason"):
            data["paid_reason"] = ""
        return data


class ReturnForm(OccurredAtMixin, forms.Form):
    occurred_at = _occurred_at(_("返还时间"))
    note = forms.CharField(label=_("备注（物流单号等）"), required=False, max_length=300)
    confirm = ConfirmField(_("我确认商品已返还消费者"))


class EvidenceForm(forms.Form):
    """A photo, video or inspection report the repairer attaches to the repair."""

    kind = forms.ChoiceField(
        label=_("类型"),
        choices=RepairEvidence.Kind.choices,
        initial=RepairEvidence.Kind.REPORT,
    )
    file = UploadField(accept=REPAIR_EVIDENCE, multiple=False, required=True, label=_("文件"))
    caption = forms.CharField(label=_("说明"), required=False, max_length=200)
