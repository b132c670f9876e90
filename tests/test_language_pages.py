"""Every page reads in one language (issue 14, "Languages").

On the demo data, signed in as each kind of user, the pages of each portal are crawled (every
link of the portal reached from its home, GET only) and the staff console's changelists and
change pages are opened:

- in English, no Chinese is left but the data itself (product names, addresses, notes …: any
  run of Chinese that is part of a stored value) and the language switch's own "中文";
- in Chinese, no label, column heading or filter title of the console is an English word
  (the "Order:" of a field without a translated verbose name).
"""

import json
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.test_admin_pages import _extra_rows, registered_models

pytestmark = pytest.mark.django_db(transaction=False)

CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LANGUAGE_NAMES = ("简体中文", "中文")
ACRONYMS = {"ID", "URL", "API", "SMS", "IP", "SKU", "CSV", "JSON", "PDF", "SHA-256", "HTTP"}
PAGES_PER_PORTAL = 80
TEXT_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}


class _Text(HTMLParser):
    """The visible text of a page (and the attributes a reader meets), chunk by chunk, with
    the console's labels, column headings and filter titles apart."""

    def __init__(self):
        super().__init__()
        self.chunks = []
        self.labels = []
        self._skip = 0
        self._label = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "template"):
            self._skip += 1
        if tag in ("label", "th") or (tag == "h3" and self._label == 0):
            self._label += 1
        for name in TEXT_ATTRIBUTES & attrs.keys():
            self.chunks.append(attrs[name] or "")
        if tag == "input" and attrs.get("type") in ("submit", "button"):
            self.chunks.append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1
        if tag in ("label", "th", "h3") and self._label:
            self._label -= 1

    def handle_data(self, data):
        if self._skip or not data.strip():
            return
        self.chunks.append(data)
        if self._label:
            self.labels.append(data.strip())


def _read(html):
    parser = _Text()
    parser.feed(html)
    return parser


def _stored_text():
    """Every string value stored by the product's apps (personal data decrypted, as the pages
    show it before masking), joined: what a page may show as data."""
    values = []
    for config in apps.get_app_configs():
        if config.label != "auth" and (config.name.startswith("django.") or "." in config.name):
            continue  # the product's apps, and the groups (named by the platform)
        for model in config.get_models():
            for row in model.objects.all().iterator():
                for field in model._meta.concrete_fields:
                    value = getattr(row, field.attname)
                    if isinstance(value, str) and value:
                        values.append(value)
                    elif isinstance(value, (dict, list)):
                        values.append(json.dumps(value, ensure_ascii=False))
    return "\n".join(values)


def _is_data(piece, data, known):
    """``piece`` is made of stored values: each part of it, taken longest first from the left,
    is part of one (a page may join a province, a city and a street with no separator)."""
    if piece not in known:
        start, whole = 0, True
        while start < len(piece) and whole:
            low, high = start, len(piece)  # the longest piece[start:end] found in the data
            while low < high:
                mid = (low + high + 1) // 2
                low, high = (mid, high) if piece[start:mid] in data else (low, mid - 1)
            whole, start = low > start, low
        known[piece] = whole
    return known[piece]


def _foreign_runs(html, data, known):
    """The runs of Chinese on an English page that are not made of stored values."""
    found = []
    for chunk in _read(html).chunks:
        for name in LANGUAGE_NAMES:
            chunk = chunk.replace(name, " ")
        for run in CJK_RUN.findall(chunk):
            if not CJK.search(run):
                continue  # punctuation alone
            pieces = [p for p in re.split(r"[*＊\s]+", run) if CJK.search(p)]
            if not all(_is_data(p, data, known) for p in pieces):
                found.append(run)
    return found


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data once for the module (rolled back at the end), and what it stores."""
    with django_db_blocker.unblock():
        from django.db import transaction

        from aftersales.tenancy.models import User

        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", verbosity=0)
            staff = User.objects.create_superuser("lang-check", "l@example.com", "pass-1234")
            _extra_rows(staff)
            yield {"staff": staff, "data": _stored_text(), "known": {}}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _client(user, language):
    client = Client(headers={"accept-language": language})
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def _crawl(client, start, prefix):
    """``{path: html}`` of the portal's pages reached from ``start`` by links under
    ``prefix`` (GET only, at most ``PAGES_PER_PORTAL``)."""
    seen, pages, queue = {start}, {}, deque([start])
    while queue and len(pages) < PAGES_PER_PORTAL:
        path = queue.popleft()
        response = client.get(path, follow=True)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        pages[path] = html
        for href in re.findall(r'href="([^"]+)"', html):
            href = urldefrag(href.replace("&amp;", "&")).url
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith(prefix):
                continue
            if any(word in parts.path for word in ("logout", "/files/", "/evidence/")):
                continue
            # one page of each list and filter: a path is crawled once, its first query only
            key = parts.path if parts.query else href
            if key not in seen and href not in seen:
                seen.update({key, href})
                queue.append(href)
    return pages


def _portal_users():
    from aftersales.tenancy.models import MerchantMember
    from repairs.models import RepairProviderMember
    from returns.models import ReturnRequest

    busiest = ReturnRequest.objects.values("consumer__user").order_by().distinct()
    consumer = busiest.first()["consumer__user"]
    merchant_id = ReturnRequest.objects.values_list("merchant_id", flat=True).first()
    member = MerchantMember.objects.filter(merchant_id=merchant_id).first()
    provider = RepairProviderMember.objects.first()
    return {"/my/": consumer, "/merchant/": member.user_id, "/provider/": provider.user_id}


@pytest.mark.parametrize("portal", ["/my/", "/merchant/", "/provider/"])
def test_every_portal_page_reads_in_english(demo, portal):
    from aftersales.tenancy.models import User

    user = User.objects.get(pk=_portal_users()[portal])
    pages = _crawl(_client(user, "en"), portal, portal)
    assert len(pages) > 3, f"the crawl of {portal} reached {sorted(pages)}"
    problems = [
        f"{path}: {', '.join(sorted(set(runs))[:8])}"
        for path, html in pages.items()
        if (runs := _foreign_runs(html, demo["data"], demo["known"]))
    ]
    assert not problems, "Chinese on English pages:\n" + "\n".join(problems)


def _console_pages(client, label):
    model = apps.get_model(label)
    opts = model._meta
    pages = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
    obj = model.objects.order_by("-pk").first()
    if obj is not None and admin.site.get_model_admin(model).has_view_permission:
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        yield path, response.content.decode()


@pytest.mark.parametrize("label", [m._meta.label for m in registered_models()])
def test_console_reads_in_one_language(demo, label):
    problems = []
    for path, html in _console_pages(_client(demo["staff"], "en"), label):
        if runs := _foreign_runs(html, demo["data"], demo["known"]):
            problems.append(f"en {path}: {', '.join(sorted(set(runs))[:8])}")
    for path, html in _console_pages(_client(demo["staff"], "zh-hans"), label):
        english = [
            text
            for text in _read(html).labels
            if re.search(r"[A-Za-z]{2,}", text)
            and not CJK.search(text)
            and text.strip(":：") not in ACRONYMS
            and text not in demo["data"]
        ]
        if english:
            problems.append(f"zh-hans {path}: English labels {sorted(set(english))[:8]}")
    assert not problems, "\n".join(problems)
