"""``manage.py verify_complaint_receipt <file>``: check a complaint receipt offline (C6).

The receipt is the JSON a consumer downloads (``/api/v1/complaints/{id}/receipt/``). The
checkpoint's signature is checked against ``--public-key`` (base64, as published at
``/api/v1/complaint-log/checkpoint/``) or, without it, this installation's own key. Exit
status 0 when the receipt is valid, 1 when it is not.
"""

import base64
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from complaints import receipts


class Command(BaseCommand):
    help = "Verify a complaint receipt: its hash chain, inclusion proof and signed checkpoint."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the receipt JSON file ('-' for standard input)")
        parser.add_argument("--public-key", help="the platform's public key, base64")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
            receipt = json.loads(text)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the receipt: {exc}") from exc
        key = options.get("public_key")
        trusted = base64.b64decode(key) if key else receipts.public_key_bytes()
        errors = receipts.receipt_errors(receipt, trusted_public_key=trusted)
        if errors:
            for error in errors:
                self.stderr.write(json.dumps(error, ensure_ascii=False))
            self.stderr.write("INVALID")
            sys.exit(1)
        checkpoint = receipt["checkpoint"]
        self.stdout.write(
            f"VALID: complaint {receipt['complaint']}, {len(receipt['entries'])} entries, "
            f"leaf {receipt['leaf_index']} of a log of {checkpoint['tree_size']} "
            f"(checkpoint {checkpoint['timestamp']}, root {checkpoint['root_hash']})"
        )
