"""``{% citation "R17" %}``: the law or platform rule a returns rule rests on, by name, for
consumer pages (``returns.citations``); ``{% rule_label "R17" %}`` adds the code for merchant
and staff pages. ``r|explanation_text`` and ``r|shipping_text``: a request's stored
explanations in the active language."""

import re

from django import template
from django.utils.translation import get_language, gettext

from returns import rules
from returns.citations import citation as _citation
from returns.citations import rule_label as _rule_label

register = template.Library()
CJK = re.compile(r"[\u4e00-\u9fff]")


@register.simple_tag
def citation(rule):
    return _citation(rule)


@register.simple_tag
def rule_label(rule):
    return _rule_label(rule)


def _in_active_language(text):
    """Whether stored text reads in the active language (Chinese text under zh-hans only)."""
    return bool(CJK.search(text)) == get_language().startswith("zh")


@register.filter
def shipping_text(request):
    """Who pays the return shipping, in the active language: written again from the stored rule
    and payer (the text stored at creation is in the language the consumer used then)."""
    if request.shipping_rule == "R9":
        return rules.return_shipping_payer(rules.QUALITY).message
    if request.shipping_rule == "R8":
        payer = request.shipping_payer
        return rules.return_shipping_payer(
            rules.NO_REASON,
            merchant_commits_free_return=payer == rules.PAYER_MERCHANT,
            has_shipping_insurance=payer == rules.PAYER_INSURANCE,
        ).message
    return request.shipping_explanation


@register.filter
def explanation_text(request):
    """The basis of a request in the active language: the explanation stored at creation when
    it reads in this language, else the option granted and the law or platform rule behind it."""
    stored = request.explanation or ""
    basis = _citation(request.rule)
    if _in_active_language(stored) or not basis:
        return stored
    return gettext("%(option)s（%(basis)s）") % {
        "option": request.get_option_display(),
        "basis": basis,
    }
