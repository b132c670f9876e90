"""URL prefixes resolved by their first path segment instead of one pattern after another.

Django's ``URLResolver.resolve`` tries every pattern of an include in order and, for each one
that fails, records it in the ``tried`` list of the answer. The API under ``/api/v1/`` is some
230 patterns (DRF routers add a format-suffix twin to each), so a request to ``/api/v1/returns/``
matched and discarded ~200 patterns first: ~0.2 ms and a few thousand short-lived objects per
request, as much as a database round trip.

``indexed_path(route, patterns)`` is ``path(route, include(patterns))`` whose resolver first
looks at the path's first segment and tries, in their original order, only the patterns whose
literal start can match it (patterns without a literal start are tried for every path). The
answer is the same ``ResolverMatch`` (view, arguments, names, route); only ``tried`` — which
Django shows on the ``DEBUG`` 404 page — lists the candidates instead of everything. Reversing
goes through the whole list as before. Includes with an empty route and no namespace
(``path("", include(module))``) are inlined first, so their patterns are indexed too.
"""

import re

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern

# A regex character that stands for itself, and a quantifier that makes the one before optional.
_PLAIN = re.compile(r"[A-Za-z0-9_/-]")
_QUANTIFIERS = "?*+{"


def literal_prefix(pattern):
    """The text every path matched by ``pattern`` (a ``URLPattern`` or ``URLResolver``) starts
    with; ``""`` when it cannot be told (a converter or group first, an unanchored regex, an
    alternation, flags)."""
    p = pattern.pattern
    if isinstance(p, RoutePattern):
        if not isinstance(p._route, str):
            return ""  # a translated route: its text depends on the language
        return p._route.split("<", 1)[0]
    if not isinstance(p, RegexPattern):
        return ""  # LocalePrefixPattern and others: no fixed text
    regex = str(p._regex)
    if not regex.startswith("^") or "|" in regex:
        return ""
    out, i, text = [], 1, regex
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "./-":
            literal, step = text[i + 1], 2
        elif _PLAIN.fullmatch(ch):
            literal, step = ch, 1
        else:
            break
        if text[i + step : i + step + 1] and text[i + step] in _QUANTIFIERS:
            break  # "s?" — the character may be absent
        out.append(literal)
        i += step
    return "".join(out)


def _may_match(prefix, segment):
    """Can a path whose first segment is ``segment`` start with ``prefix``?"""
    if not prefix:
        return True
    head, slash, _ = prefix.partition("/")
    return head == segment if slash else segment.startswith(head)


def _inline(patterns):
    """``patterns`` with every namespace-less ``path("", include(...))`` replaced by its own
    patterns (recursively): the same matches in the same order."""
    out = []
    for pattern in patterns:
        if (
            isinstance(pattern, URLResolver)
            and isinstance(pattern.pattern, RoutePattern)
            and str(pattern.pattern._route) == ""
            and pattern.namespace is None
            and pattern.app_name is None
            and not pattern.default_kwargs
        ):
            out += _inline(pattern.url_patterns)
        else:
            out.append(pattern)
    return out


class IndexedResolver(URLResolver):
    """A ``URLResolver`` that resolves through a per-segment subset of its patterns."""

    def __init__(self, pattern, patterns, default_kwargs=None, app_name=None, namespace=None):
        patterns = _inline(list(patterns))
        super().__init__(pattern, patterns, default_kwargs, app_name, namespace)
        self._prefixes = [(literal_prefix(p), p) for p in patterns]
        # The segments patterns name whole ("returns" of "returns/..."): only these are
        # remembered, so requests for made-up segments cannot grow the table.
        self._heads = {prefix.partition("/")[0] for prefix, _p in self._prefixes if "/" in prefix}
        self._segments = {}
        self._anywhere = self._child([p for prefix, p in self._prefixes if not prefix])

    def _child(self, patterns):
        return URLResolver(
            self.pattern, patterns, self.default_kwargs, self.app_name, self.namespace
        )

    def _for_segment(self, segment):
        child = self._segments.get(segment)
        if child is not None:
            return child
        candidates = [p for prefix, p in self._prefixes if _may_match(prefix, segment)]
        if len(candidates) == len(self._anywhere.url_patterns):
            return self._anywhere  # no pattern names this segment
        child = self._child(candidates)
        if segment in self._heads:
            self._segments[segment] = child
        return child  # "returns.json", a format suffix: built for this request only

    def resolve(self, path):
        path = str(path)
        match = self.pattern.match(path)
        if match:
            return self._for_segment(match[0].split("/", 1)[0]).resolve(path)
        return super().resolve(path)


def indexed_path(route, patterns, *, name=None, app_name=None, namespace=None):
    """``path(route, include(patterns))`` (or ``include((patterns, app_name))`` with a
    namespace) resolved by ``IndexedResolver``."""
    if isinstance(patterns, URLPattern):
        raise TypeError("indexed_path takes a list of patterns")
    return IndexedResolver(
        RoutePattern(route, name=name, is_endpoint=False),
        patterns,
        app_name=app_name,
        namespace=namespace if namespace is not None else app_name,
    )
