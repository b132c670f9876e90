"""``{% law "G10" %}``: the law behind a 三包 rule (``repairs.citations``) on a page.

Consumer pages (``portal == "my"``) show the law by name only; the merchant and provider
portals show the platform's code with it.
"""

from django import template
from django.utils.html import format_html

from repairs import citations
from repairs.seed import seed_text

register = template.Library()


@register.filter(name="seed_text")
def seed_text_filter(value):
    """A catalog name or part name in the reader's language (``repairs.seed.seed_text``)."""
    return seed_text(value)


@register.simple_tag(takes_context=True)
def law(context, rules):
    """The citation of ``rules`` (one code or several) as a small span."""
    text = citations.cite(rules, with_code=context.get("portal") in ("merchant", "provider"))
    if not text:
        return ""
    return format_html('<span class="law-cite" data-rule="{}">{}</span>', rules, text)
