"""aftersales.routing: resolving by first segment answers exactly as Django's resolver does."""

import re

import pytest
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern

from aftersales.routing import IndexedResolver, indexed_path, literal_prefix
from config import urls as root_urls

SAMPLES = {"int": "7", "slug": "ab-c", "str": "ab-c", "path": "a/b", None: "ab-c"}
UUID = "12345678-1234-5678-1234-567812345678"


def _view(request, **kwargs):  # pragma: no cover - never called
    return None


def _fill_route(route):
    def sub(m):
        return UUID if m.group(1) == "uuid" else SAMPLES.get(m.group(1), "7")

    return re.sub(r"<(?:(\w+):)?\w+>", sub, route)


def _fill_regex(regex):
    text = regex.removeprefix("^").removesuffix("$")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "json" if m.group(1) == "format" else "7", text)
    text = text.replace("/?", "/").replace("\\.", ".")
    return None if re.search(r"[()\[\]?*+|\\{}]", text) else text


def sample_paths(patterns, prefix=""):
    """One concrete path for every pattern reachable from ``patterns``."""
    out = []
    for p in patterns:
        if isinstance(p.pattern, RoutePattern):
            piece = _fill_route(str(p.pattern._route))
        elif isinstance(p.pattern, RegexPattern):
            piece = _fill_regex(str(p.pattern._regex))
        else:
            piece = None
        if piece is None:
            continue
        if isinstance(p, URLResolver):
            out += sample_paths(p.url_patterns, prefix + piece)
        else:
            out.append(prefix + piece)
    return out


def _answer(resolver, value):
    try:
        m = resolver.resolve(value)
    except Resolver404:
        return "404"
    return (m.func, m.args, m.kwargs, m.url_name, m.app_names, m.namespaces, m.route)


def _pairs():
    """(indexed, plain) resolvers over the same patterns: the API and the three portals."""
    api = [path("", include(m)) for m in root_urls.API_MODULES]
    yield (
        indexed_path("api/v1/", api),
        URLResolver(RoutePattern("api/v1/", is_endpoint=False), api),
    )
    for attr, ns in (
        ("my_urlpatterns", "my"),
        ("merchant_urlpatterns", "merchant"),
        ("provider_urlpatterns", "provider"),
    ):
        pages = root_urls._patterns(attr)
        yield (
            indexed_path(f"{ns}/", pages, app_name=ns),
            URLResolver(RoutePattern(f"{ns}/", is_endpoint=False), pages, None, ns, ns),
        )


EXTRA = [
    "api/v1/",
    "api/v1/nothing/",
    "api/v1/returns",
    "api/v1/returns.json",
    "api/v1/returns/5/approve.json",
    "api/v1/RETURNS/",
    "api/v1/returns/5/approve/extra/",
    "api/v2/returns/",
    "my/",
    "my/nothing/",
    "merchant/",
    "provider/",
]


def test_every_route_resolves_the_same_indexed_and_plain():
    compared = 0
    for indexed, plain in _pairs():
        paths = sample_paths(plain.url_patterns, str(plain.pattern._route))
        assert len(paths) >= 5
        for value in [*paths, *EXTRA]:
            assert _answer(indexed, value) == _answer(plain, value), value
            compared += 1
    assert compared > 250  # the API's ~230 patterns and the pages were all exercised


def test_every_route_reverses_the_same_indexed_and_plain():
    checked = 0
    for indexed, plain in _pairs():
        for name in [k for k in plain.reverse_dict if isinstance(k, str)]:
            # reverse_dict: [(possibilities [(format, params)], pattern, defaults, converters)]
            params = {p: "7" for p in plain.reverse_dict.getlist(name)[0][0][0][1]}
            if "format" in params:
                params["format"] = "json"
            assert indexed.reverse(name, **params) == plain.reverse(name, **params), name
            checked += 1
    assert checked > 100


def test_a_translated_route_is_not_indexed():
    from django.utils.translation import gettext_lazy

    assert literal_prefix(path(gettext_lazy("returns/"), _view)) == ""


def test_the_site_resolves_api_paths_through_the_index():
    from django.urls import get_resolver

    resolver = get_resolver()
    api = next(p for p in resolver.url_patterns if str(p.pattern) == "api/v1/")
    assert isinstance(api, IndexedResolver)
    match = resolver.resolve("/api/v1/returns/12/approve/")
    assert (match.url_name, match.kwargs) == ("return-approve", {"pk": "12"})
    # The candidates for "returns" are a small part of the API.
    assert len(api._for_segment("returns").url_patterns) < len(api.url_patterns) / 4


@pytest.mark.parametrize(
    "pattern, prefix",
    [
        (path("returns/<int:pk>/", _view), "returns/"),
        (path("<slug:provider>/x/", _view), ""),
        (path("", _view), ""),
        (re_path(r"^returns/(?P<pk>[^/.]+)/approve/$", _view), "returns/"),
        (re_path(r"^returns\.(?P<format>[a-z0-9]+)/?$", _view), "returns."),
        (re_path(r"^returns?/$", _view), "return"),  # "s?" may be absent
        (re_path(r"^a|b/$", _view), ""),  # an alternation: no fixed start
        (re_path(r"returns/$", _view), ""),  # unanchored: matches anywhere
        (re_path(r"^(?i)returns/$", _view), ""),
        (re_path(r"^order-lines/x\-y/$", _view), "order-lines/x-y/"),
    ],
)
def test_literal_prefix(pattern, prefix):
    assert literal_prefix(pattern) == prefix


def test_segments_follow_prefixes_in_their_order():
    a = path("returns/", _view, name="a")
    b = re_path(r"^(?P<anything>[a-z]+)/$", _view, name="b")  # no literal start
    c = re_path(r"^returns\.(?P<format>[a-z]+)$", _view, name="c")
    d = path("other/", _view, name="d")
    resolver = IndexedResolver(RoutePattern("x/"), [a, b, c, d])
    assert resolver._for_segment("returns").url_patterns == [a, b]
    assert resolver._for_segment("returns.json").url_patterns == [b, c]
    assert resolver._for_segment("other").url_patterns == [b, d]
    unknown = resolver._for_segment("zzz")
    assert unknown.url_patterns == [b]
    assert "zzz" not in resolver._segments  # unknown segments share one list
    # Only segments a pattern names whole are remembered: made-up suffixes are not.
    for n in range(50):
        assert resolver._for_segment(f"returns.x{n}").url_patterns == [b, c]
    assert set(resolver._segments) == {"returns", "other"}
    assert resolver.resolve("x/returns/").url_name == "a"
    assert resolver.resolve("x/zzz/").url_name == "b"


def test_unnamed_empty_includes_are_inlined_namespaced_ones_are_not():
    inner = [path("a/", _view, name="a")]
    named = path("", include((inner, "ns")))
    resolver = IndexedResolver(RoutePattern("x/"), [path("", include(inner)), named])
    assert resolver.url_patterns[0] is inner[0]
    assert resolver.url_patterns[1] is named
    assert isinstance(resolver.url_patterns[0], URLPattern)
    assert resolver.resolve("x/a/").url_name == "a"
