"""Where webhooks may go (issue 19): the host is resolved once per delivery and the connection
goes to the address that was checked (Host header and TLS server name kept), and no webhook
ever goes to a multicast, broadcast, unspecified or reserved address."""

import datetime
import ipaddress
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aftersales.messaging import webhooks
from aftersales.messaging.models import WebhookEndpoint
from aftersales.tests.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def dns(monkeypatch):
    """The name service, as the platform sees it: ``dns.answers[name]`` is a list of answers,
    one per lookup (the last one repeats); ``dns.lookups`` counts the lookups of each name."""

    class Dns:
        answers = {}
        lookups = {}

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in Dns.answers:
            return real(host, port, *args, **kwargs)
        n = Dns.lookups[host] = Dns.lookups.get(host, 0) + 1
        answer = Dns.answers[host][min(n, len(Dns.answers[host])) - 1]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port or 0),
            )
            for address in answer
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return Dns


def _create(api, url):
    return api("platform_key").post(
        "/api/v1/webhook-endpoints/", {"url": url, "event_types": ["*"]}, format="json"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://224.0.0.251/hook",  # mDNS multicast
        "http://239.255.255.250:1900/",  # SSDP multicast
        "http://255.255.255.255/hook",  # broadcast
        "http://0.0.0.0/hook",  # unspecified
        "http://240.0.0.1/hook",  # reserved
        "http://[ff02::1]/hook",  # IPv6 multicast
        "http://[::]/hook",  # IPv6 unspecified
        "http://[::ffff:224.0.0.1]/hook",  # multicast behind an IPv4-mapped IPv6 address
    ],
)
def test_non_unicast_addresses_are_refused_even_in_the_sandbox(api, url):
    r = _create(api, url)
    assert r.status_code == 400 and r.json()["code"] == "webhook_address_not_unicast"
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_to_a_multicast_address_among_others_is_refused(api, dns):
    dns.answers["mixed.example"] = [["93.184.216.34"]]
    assert _create(api, "http://mixed.example/hook").status_code == 201
    dns.answers["mixed2.example"] = [["93.184.216.34", "224.0.0.1"]]
    r = _create(api, "http://mixed2.example/hook")
    assert r.status_code == 400 and r.json()["code"] == "webhook_address_not_unicast"


def test_a_unicast_public_address_is_accepted_outside_the_sandbox(api, settings):
    settings.SANDBOX = False
    assert _create(api, "https://93.184.216.34/hook").status_code == 201


@pytest.mark.parametrize(
    "address, refused",
    [
        ("93.184.216.34", ""),
        ("127.0.0.1", "not a public address"),
        ("10.0.0.1", "not a public address"),
        ("::ffff:10.0.0.1", "not a public address"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "broadcast"),
    ],
)
def test_refused_address_outside_the_sandbox(settings, address, refused):
    settings.SANDBOX = False
    reason = webhooks.refused_address(ipaddress.ip_address(address))
    assert (refused in reason) if refused else reason == ""


def test_delivery_connects_to_the_address_it_checked_with_the_host_header(dns):
    """DNS rebinding: the name answers the local receiver first, then another address. The
    delivery looks the name up once and posts to what it checked, naming the host."""
    with Receiver() as rx:
        port = rx.server.server_address[1]
        dns.answers["hooks.example"] = [["127.0.0.1"], ["10.66.66.66"]]
        status, _excerpt, error = webhooks._post(
            f"http://hooks.example:{port}/hook?x=1", b"{}", {"X-Test": "1"}, 2
        )
    assert (status, error) == (200, "")
    assert dns.lookups["hooks.example"] == 1
    assert len(rx.requests) == 1
    assert rx.requests[0]["headers"]["Host"] == f"hooks.example:{port}"


def test_a_delivery_re_pointed_at_a_multicast_address_is_refused(dns):
    dns.answers["moved.example"] = [["224.0.0.1"]]
    status, _excerpt, error = webhooks._post("http://moved.example/hook", b"{}", {}, 1)
    assert status is None and error == "refused: 224.0.0.1 is a multicast address"
    assert dns.lookups["moved.example"] == 1


def _self_signed(tmp_path, name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_delivery_sends_the_host_name_for_sni_and_checks_the_certificate(tmp_path, dns):
    """TLS to the checked address still names the host (SNI) and verifies its certificate: a
    certificate nobody vouches for is refused."""
    cert, key = _self_signed(tmp_path, "secure.example")
    server_names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one():
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    dns.answers["secure.example"] = [["127.0.0.1"]]
    status, _excerpt, error = webhooks._post(f"https://secure.example:{port}/", b"{}", {}, 2)
    thread.join(timeout=5)
    listener.close()
    assert server_names == ["secure.example"]
    assert status is None and "CERTIFICATE_VERIFY_FAILED" in error
