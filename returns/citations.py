"""Where each rule of returns comes from, as people read it (issue 14; RULES.md R1–R21).

Consumers see the law or the platform rule by name (《消费者权益保护法》第二十五条,
平台规则《极速退款》), never the internal code; merchant and staff pages may show both
(``rule_label``). The pages, the API and the rules' explanations all read this one table.
The law articles: 消费者权益保护法 art. 24 (quality returns, the merchant pays the carriage)
and art. 25 (seven-day no-reason returns: the window, the exclusions, intact goods, the refund
within 7 days, who pays the carriage); 网络购买商品七日无理由退货暂行办法 art. 6 (goods excluded by
law), art. 7 (goods excludable with the consumer's confirmation) and art. 8 (intact goods). The
rules the platform adds (standard 6.3 and platform practice) are cited as platform rules.
"""

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

_CONSUMER_LAW_24 = _("《消费者权益保护法》第二十四条")
_CONSUMER_LAW_25 = _("《消费者权益保护法》第二十五条")

CITATIONS = {
    "R1": _CONSUMER_LAW_25,
    "R2": _("《网络购买商品七日无理由退货暂行办法》第六条"),
    "R3": _("《网络购买商品七日无理由退货暂行办法》第七条"),
    "R4": _("《网络购买商品七日无理由退货暂行办法》第七条"),
    "R5": _("《网络购买商品七日无理由退货暂行办法》第八条"),
    "R6": _CONSUMER_LAW_25,
    "R7": _("平台规则《退款原路返还》"),
    "R8": _CONSUMER_LAW_25,
    "R9": _CONSUMER_LAW_24,
    "R10": _CONSUMER_LAW_24,
    "R11": _("平台规则《未发货秒退》"),
    "R12": _("平台规则《极速退款》"),
    "R13": _("平台规则《商家处理时限》"),
    "R14": _("平台规则《退货寄回时限》"),
    "R15": _("平台规则《部分退货》"),
    "R16": _("平台规则《上门取件》"),
    "R17": _("平台规则《高价值商品保价》"),
    "R18": _("平台规则《线上换货》"),
    "R19": _("平台规则《售后争议仲裁》"),
    "R20": _("平台规则《商家确认收货时限》"),
    "R21": _("平台规则《仲裁答辩时限》"),
}
"""Rule code → the law article or platform rule it rests on, translated when read."""


def citation(rule):
    """What consumers read for ``rule``: the law or platform rule by name (``""`` if unknown)."""
    text = CITATIONS.get(rule)
    return str(text) if text is not None else ""


def rule_label(rule):
    """What merchants and staff read: the code and the citation ("R1 《…》第二十五条")."""
    text = citation(rule)
    if not text:
        return rule or ""
    return f"{rule} {text}"


def _cited(message, rule):
    return str(message) % {"basis": citation(rule)}


cited = lazy(_cited, str)
"""``message`` (a lazy translation holding ``%(basis)s``) with ``rule``'s citation, translated
when read: for texts declared at import time, such as the deadlines' descriptions."""
