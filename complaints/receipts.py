"""Checkpoint signing and receipt verification (RULES.md C6, standard 6.6.2).

A checkpoint says "the log had ``tree_size`` leaves with root ``root_hash`` at ``timestamp``",
signed with the platform's Ed25519 key. A receipt is a complaint's entries, the inclusion proof
of its chain head in the log and a checkpoint; ``receipt_errors`` checks one offline, without
the database, so anyone can run it (``manage.py verify_complaint_receipt``, the public verify
endpoint).
"""

import base64
import hashlib
import os
import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

from . import merkle, rules

RECEIPT_FORMAT = "aftersales-complaint-receipt/1"
CHECKPOINT_ORIGIN = "aftersales complaint log"


# -- the key ----------------------------------------------------------------------------------


def _write_key_file(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.b64encode(os.urandom(32)).decode())
        try:
            os.link(tmp, path)  # two processes starting at once: the first file wins
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


@lru_cache(maxsize=1)
def signing_key() -> Ed25519PrivateKey:
    """The platform's checkpoint key: ``COMPLAINT_LOG_KEY``, else the file under var/."""
    raw = settings.COMPLAINT_LOG_KEY
    if not raw:
        path = settings.COMPLAINT_LOG_KEY_FILE
        if not path.exists():
            _write_key_file(path)
        raw = path.read_text().strip()
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def public_key_bytes(key=None) -> bytes:
    key = key or signing_key().public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_raw: bytes) -> str:
    """The first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


# -- checkpoints ------------------------------------------------------------------------------


def checkpoint_message(tree_size: int, root_hex: str, timestamp: str) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return f"{CHECKPOINT_ORIGIN}\n{int(tree_size)}\n{root_hex}\n{timestamp}\n".encode()


def checkpoint_sign(tree_size: int, root_hex: str, timestamp: str) -> tuple[str, str]:
    """``(key_id, signature base64)`` of a checkpoint with the platform's key."""
    key = signing_key()
    signature = key.sign(checkpoint_message(tree_size, root_hex, timestamp))
    return key_id(public_key_bytes(key.public_key())), base64.b64encode(signature).decode()


def checkpoint_signature_valid(checkpoint: dict, public_raw: bytes) -> bool:
    """Whether ``checkpoint`` (``tree_size``, ``root_hash``, ``timestamp``, ``signature``) is
    signed by the key ``public_raw``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            base64.b64decode(checkpoint["signature"]),
            checkpoint_message(
                checkpoint["tree_size"], checkpoint["root_hash"], checkpoint["timestamp"]
            ),
        )
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


# -- receipts ---------------------------------------------------------------------------------


def receipt_errors(receipt: dict, *, trusted_public_key: bytes | None = None) -> list:
    """What is wrong with a receipt, as ``[{"error": code, ...}]``; ``[]`` when it proves
    that its entries, unchanged, are in the signed log.

    Checks: the chain of entries recomputes (C6); the chain head's leaf, with the inclusion
    proof, leads to the checkpoint's root; the checkpoint's signature is valid under the
    platform key (``trusted_public_key``, else the key the receipt carries, whose id must be
    the checkpoint's).
    """
    errors = []
    try:
        if receipt.get("format") != RECEIPT_FORMAT:
            return [{"error": "format"}]
        entries = receipt["entries"]
        checkpoint = receipt["checkpoint"]
        if not entries:
            return [{"error": "no_entries"}]
        errors += rules.chain_errors(entries)
        if any(int(e["complaint"]) != int(receipt["complaint"]) for e in entries):
            errors.append({"error": "complaint"})
        head = bytes.fromhex(entries[-1]["hash"])
        path = [bytes.fromhex(p) for p in receipt["inclusion_proof"]]
        root = merkle.root_from_inclusion(
            int(receipt["leaf_index"]), int(checkpoint["tree_size"]), head, path
        )
        if root is None or root.hex() != checkpoint["root_hash"]:
            errors.append({"error": "inclusion"})
        public_raw = trusted_public_key or base64.b64decode(receipt.get("public_key", ""))
        if key_id(public_raw) != checkpoint.get("key_id"):
            errors.append({"error": "key"})
        elif not checkpoint_signature_valid(checkpoint, public_raw):
            errors.append({"error": "signature"})
    except (KeyError, TypeError, ValueError, AttributeError):
        errors.append({"error": "malformed"})
    return errors


def consistency_errors(older: dict, newer: dict, proof) -> list:
    """Whether the log of checkpoint ``newer`` still holds the log of checkpoint ``older``
    unchanged (RFC 9162 consistency): ``[]`` when it does, ``[{"error": "rollback"}]`` when the
    newer log is smaller or the proof fails (the log was rolled back or rewritten)."""
    try:
        first, second = int(older["tree_size"]), int(newer["tree_size"])
        ok = first <= second and merkle.verify_consistency(
            first,
            second,
            bytes.fromhex(older["root_hash"]),
            bytes.fromhex(newer["root_hash"]),
            [bytes.fromhex(h) for h in proof],
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    return [] if ok else [{"error": "rollback"}]
