"""``{% citation "R17" %}``: the law or platform rule a returns rule rests on, by name, for
consumer pages (``returns.citations``); ``{% rule_label "R17" %}`` adds the code for merchant
and staff pages."""

from django import template

from returns.citations import citation as _citation
from returns.citations import rule_label as _rule_label

register = template.Library()


@register.simple_tag
def citation(rule):
    return _citation(rule)


@register.simple_tag
def rule_label(rule):
    return _rule_label(rule)
