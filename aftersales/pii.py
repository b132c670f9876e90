"""Personal information at rest (RULES.md D1–D3, standard 4.3).

Values are encrypted with AES-256-GCM under a key ring kept apart from ``SECRET_KEY``. Every
stored value names the key that sealed it (``pii1:<key id>:<base64 nonce+ciphertext>``), so
keys can rotate: ``manage.py rotate_pii_keys`` re-seals every value under the active key.
Phones are looked up by an HMAC-SHA256 blind index, never by decrypting. Merchants see masked
values (``mask_*``); whoever sees an unmasked value is logged by ``pii_reveal``.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

PREFIX = "pii1"


class KeyRing:
    """The PII keys: ``keys`` by id, the ``active`` id that seals new values, the index key."""

    def __init__(self, keys, active, index_key):
        if active not in keys:
            raise ValueError(f"active PII key {active!r} is not in the key ring")
        self.keys = keys
        self.active = active
        self.index_key = index_key

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        keys = {kid: base64.b64decode(v) for kid, v in data["keys"].items()}
        return cls(keys, data["active"], base64.b64decode(data["index_key"]))

    def to_json(self):
        return json.dumps(
            {
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
                "active": self.active,
                "index_key": base64.b64encode(self.index_key).decode(),
            },
            indent=2,
        )

    @classmethod
    def generate(cls):
        kid = "k" + secrets.token_hex(4)
        return cls({kid: AESGCM.generate_key(bit_length=256)}, kid, secrets.token_bytes(32))

    def with_new_active_key(self):
        """A copy of the ring with a fresh active key; old keys stay for reading."""
        ring = KeyRing(dict(self.keys), self.active, self.index_key)
        kid = "k" + secrets.token_hex(4)
        ring.keys[kid] = AESGCM.generate_key(bit_length=256)
        ring.active = kid
        return ring


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    """The process's key ring: ``PII_KEYS`` from the environment, else the file under var/."""
    if settings.PII_KEYS:
        return KeyRing.from_json(settings.PII_KEYS)
    path = settings.PII_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(KeyRing.generate().to_json())
    return KeyRing.from_json(path.read_text())


def reload_keyring():
    keyring.cache_clear()


def encrypt(plaintext: str, ring: KeyRing | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(12)
    sealed = AESGCM(ring.keys[ring.active]).encrypt(nonce, plaintext.encode(), PREFIX.encode())
    return f"{PREFIX}:{ring.active}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, ring: KeyRing | None = None) -> str:
    ring = ring or keyring()
    prefix, kid, body = token.split(":", 2)
    if prefix != PREFIX:
        raise ValueError("not a PII token")
    raw = base64.b64decode(body)
    return AESGCM(ring.keys[kid]).decrypt(raw[:12], raw[12:], PREFIX.encode()).decode()


def key_id_of(token: str) -> str | None:
    if not token or not token.startswith(PREFIX + ":"):
        return None
    return token.split(":", 2)[1]


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def blind_index(value: str) -> str:
    """HMAC-SHA256 of the normalised phone: equality lookups without decryption."""
    return hmac.new(keyring().index_key, normalize_phone(value).encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column holding an AES-GCM token; Python code sees the plaintext ``str``.

    It cannot be filtered or ordered on: use a blind index column for lookups.
    """

    description = "Encrypted text (AES-GCM, key id in the value)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PREFIX + ":"):
            return decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if isinstance(value, str) and value.startswith(PREFIX + ":"):
            return value
        return encrypt(str(value))


# -- masking (RULES.md D2) ------------------------------------------------------------------


def mask_name(name: str) -> str:
    """At least one character hidden: 张三 → 张*, 欧阳娜娜 → 欧**娜, Li Lei → L*****."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*"
    if len(name) == 3:
        return name[0] + "*" + name[-1]
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """At least six digits hidden: 13812345678 → 138******78."""
    digits = normalize_phone(phone)
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]
    if len(digits) > 8:
        return digits[:2] + "*" * (len(digits) - 3) + digits[-1:]
    return "*" * len(digits)


def mask_address(*, province="", city="", district="", street="") -> str:
    """The address without unit/room number: region and a shortened street."""
    street = (street or "").strip()
    short = street[:4] + "****" if street else ""
    return "".join(p for p in (province, city, district, short) if p)
