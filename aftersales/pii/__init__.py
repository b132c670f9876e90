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
from django.apps import apps
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


class Sealed(str):
    """A value that is already an AES-GCM token: stored as is, never sealed again.

    Only the key rotation uses it; a plain ``str`` that merely looks like a token is sealed like
    any other input, so no user can store an unreadable value."""


class UnknownPiiKey(KeyError):
    """A value names a key id that is not in the key ring."""


@lru_cache(maxsize=1)
def keyring() -> KeyRing:
    """The process's key ring: ``PII_KEYS`` from the environment, else the file under var/."""
    if settings.PII_KEYS:
        return KeyRing.from_json(settings.PII_KEYS)
    path = settings.PII_KEYS_FILE
    if not path.exists():
        write_ring_file(path, KeyRing.generate(), replace=False)
    return KeyRing.from_json(path.read_text())


def write_ring_file(path, ring, *, replace=True):
    """Write ``ring`` to ``path`` (mode 0600) atomically: readers never see half a file.

    With ``replace=False`` an existing file wins (two processes starting at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(ring.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
    finally:
        if tmp.exists():
            tmp.unlink()


def reload_keyring():
    keyring.cache_clear()


def encrypt(plaintext: str, ring: KeyRing | None = None) -> str:
    ring = ring or keyring()
    nonce = os.urandom(12)
    sealed = AESGCM(ring.keys[ring.active]).encrypt(nonce, plaintext.encode(), PREFIX.encode())
    return f"{PREFIX}:{ring.active}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, ring: KeyRing | None = None) -> str:
    """The plaintext of ``token``. A key id this process does not know yet (another process
    rotated the file-based ring) makes it re-read the ring once."""
    explicit = ring is not None
    ring = ring or keyring()
    prefix, kid, body = token.split(":", 2)
    if prefix != PREFIX:
        raise ValueError("not a PII token")
    if kid not in ring.keys and not explicit:
        reload_keyring()
        ring = keyring()
    if kid not in ring.keys:
        raise UnknownPiiKey(f"PII key {kid!r} is not in the key ring")
    raw = base64.b64decode(body)
    return AESGCM(ring.keys[kid]).decrypt(raw[:12], raw[12:], PREFIX.encode()).decode()


def is_token(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


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
    digest = hmac.new(keyring().index_key, normalize_phone(value).encode(), hashlib.sha256)
    return digest.hexdigest()


class EncryptedTextField(models.TextField):
    """A text column holding an AES-GCM token; Python code sees the plaintext ``str``.

    It cannot be filtered or ordered on: use a blind index column for lookups.
    """

    description = "Encrypted text (AES-GCM, key id in the value)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        if not is_token(value):
            return value  # a legacy plaintext row: rotate_pii_keys seals it
        return decrypt(value)

    def to_python(self, value):
        """Deserialised tokens (loaddata) become plaintext; anything else is left alone."""
        if is_token(value):
            try:
                return decrypt(value)
            except Exception:  # not one of ours: treat it as text like any other
                return value
        return value

    def get_prep_value(self, value):
        # Not super(): TextField would run to_python and so decrypt what it is given.
        if value is None or value == "":
            return value
        if isinstance(value, Sealed):
            return str(value)
        return encrypt(str(value))

    def value_to_string(self, obj):
        """Serialised (dumpdata) as a token, so dumps hold no plaintext either."""
        value = self.value_from_object(obj)
        return encrypt(value) if value else value


def encrypted_fields():
    """Every ``(model, field)`` holding encrypted text, across all installed apps."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for field in meta.local_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found


# -- masking (RULES.md D2) ------------------------------------------------------------------


_DIGITS = re.compile(r"[0-9０-９]")


def _mask_word(word):
    return "*" if len(word) == 1 else word[0] + "*" * (len(word) - 1)


def mask_name(name: str) -> str:
    """At least one character hidden (RULES.md D2): 张 → *, 张三 → 张*, 张三丰 → 张*丰,
    欧阳娜娜 → 欧**娜; Latin names keep each word's initial: Li Lei → L* L**."""
    name = (name or "").strip()
    if not name:
        return ""
    words = name.split()
    if len(words) > 1:
        return " ".join(_mask_word(w) for w in words)
    if len(name) == 1:
        return "*"
    if name.isascii():
        return _mask_word(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """At least six digits hidden (RULES.md D2): 13812345678 → 138******78."""
    digits = normalize_phone(phone)
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]
    if len(digits) > 8:
        return digits[:2] + "*" * (len(digits) - 3) + digits[-1:]
    return "*" * len(digits)


def mask_address(*, province="", city="", district="", street="") -> str:
    """The address without unit/room number (RULES.md D2): the region and the street name up to
    its first digit, so no house, building or room number is shown."""
    street = (street or "").strip()
    match = _DIGITS.search(street)
    name = (street[: match.start()] if match else street)[:10].strip()
    short = name + "****" if street else ""
    return "".join(p for p in (province, city, district, short) if p)
