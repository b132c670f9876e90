"""The law behind each 三包 rule code (RULES.md "Three guarantees", G1–G13): one mapping.

Consumers read the law by name (《部分商品修理更换退货责任规定》第九条), never the platform's
internal codes; merchant, provider and staff pages and the API show both
(``cite(rule, with_code=True)``).
Articles as RULES.md names them; a rule the law carries without one article (G3, G11) cites the
regulation itself. ``G3P`` is the engine's "main parts only" free repair (G3 within G9's part
periods).
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

LAW = _("《部分商品修理更换退货责任规定》")

CITATIONS = {
    "G1": _("《部分商品修理更换退货责任规定》第九条"),
    "G2": _("《部分商品修理更换退货责任规定》第十条"),
    "G3": _("《部分商品修理更换退货责任规定》"),
    "G3P": _("《部分商品修理更换退货责任规定》第八条"),
    "G4": _("《部分商品修理更换退货责任规定》第十一条"),
    "G5": _("《部分商品修理更换退货责任规定》第十二条"),
    "G6": _("《部分商品修理更换退货责任规定》第十二条"),
    "G7": _("《部分商品修理更换退货责任规定》第十三条"),
    "G8": _("《部分商品修理更换退货责任规定》第十三条"),
    "G9": _("《部分商品修理更换退货责任规定》第八条"),
    "G10": _("《部分商品修理更换退货责任规定》第十四条"),
    "G11": _("《部分商品修理更换退货责任规定》"),
    "G12": _("《部分商品修理更换退货责任规定》第六条、第七条"),
    "G13": _("《部分商品修理更换退货责任规定》第八条至第十二条"),
}


def split_rules(rules):
    """``"G5、G8"`` / ``"G5/G6"`` / ``["G5", "G8"]`` → ``["G5", "G8"]`` (order kept, no repeats)."""
    if isinstance(rules, str):
        rules = rules.replace("/", "、").replace(",", "、").split("、")
    return list(dict.fromkeys(r.strip() for r in rules if r and r.strip()))


def citation(rules):
    """The law's name and article(s) of one rule code or several (repeats cited once); an
    unknown code cites nothing (``""``)."""
    texts = [str(CITATIONS[r]) for r in split_rules(rules) if r in CITATIONS]
    return gettext("；").join(dict.fromkeys(texts))


def cite(rules, *, with_code=False):
    """What a page shows after a sentence: the citation (consumers), or the code(s) and the
    citation (merchants, providers, staff, the API)."""
    text = citation(rules)
    if not with_code:
        return text
    codes = gettext("、").join(split_rules(rules))
    if not text:
        return codes
    return gettext("%(codes)s：%(citation)s") % {"codes": codes, "citation": text}
