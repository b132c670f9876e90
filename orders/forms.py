"""Forms of the order pages: the merchant ships a line from the portal (standard 6.2.1)."""

from django import forms
from django.utils.translation import gettext_lazy as _

CARRIER_CHOICES = [
    ("顺丰速运", _("顺丰速运")),  # i18n-exempt: stored carrier name
    ("中通快递", _("中通快递")),  # i18n-exempt: stored carrier name
    ("圆通速递", _("圆通速递")),  # i18n-exempt: stored carrier name
    ("韵达快递", _("韵达快递")),  # i18n-exempt: stored carrier name
    ("京东物流", _("京东物流")),  # i18n-exempt: stored carrier name
    ("中国邮政 EMS", _("中国邮政 EMS")),  # i18n-exempt: stored carrier name
    ("SANDBOX", _("沙箱承运商")),
]
"""The carriers a person picks on a page (the API takes any carrier name)."""


def tracking_number_field():
    return forms.RegexField(
        label=_("运单号"),
        regex=r"^[A-Za-z0-9-]{6,40}$",
        error_messages={"invalid": _("运单号为 6–40 位字母或数字。")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "latin"}),
    )


class ShipmentForm(forms.Form):
    """The merchant ships one line of an order: carrier and tracking number
    (``services.shipment_create``)."""

    line = forms.TypedChoiceField(label=_("发货商品"), coerce=int)
    carrier = forms.ChoiceField(label=_("快递公司"), choices=CARRIER_CHOICES)
    tracking_number = tracking_number_field()

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].choices = [
            (line.pk, f"{line.product_name} {line.spec} × {line.quantity}".strip())
            for line in lines
        ]
