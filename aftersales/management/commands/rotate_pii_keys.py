"""Rotate the personal-data key (RULES.md D1): a new active key, then every value re-sealed.

Development (key ring in a file under var/): generates the key, writes the file and re-seals
every ``EncryptedTextField`` value of every model under it.

Production (``PII_KEYS`` from the environment, which this command cannot change): prints the
new ring as JSON for the operator to deploy. Once every process runs with it, re-seal with
``--reencrypt`` (the ring from the environment) or ``--ring-file new.json`` (a ring given in a
file, which must still hold every key of the current ring). The re-sealing is idempotent and
resumable: values already under the active key are left alone.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import pii
from aftersales.pii import rotation


class Command(BaseCommand):
    help = gettext_lazy("生成新的个人信息加密密钥并用它重新加密全部个人信息。")

    def add_arguments(self, parser):
        parser.add_argument(
            "--reencrypt",
            action="store_true",
            help=gettext_lazy("不生成新密钥，只把旧密钥加密的值改用当前密钥（可续跑）。"),
        )
        parser.add_argument(
            "--ring-file",
            type=Path,
            help=gettext_lazy("用此文件中的密钥环（JSON）重新加密，须包含当前全部密钥。"),
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--dry-run", action="store_true", help=gettext_lazy("只统计，不写入。"))

    def handle(
        self, *args, reencrypt=False, ring_file=None, batch_size=500, dry_run=False, **options
    ):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        current = pii.keyring()
        if ring_file is not None:
            ring = self._load_ring(ring_file, current)
        elif reencrypt or dry_run:
            ring = current
        elif settings.PII_KEYS:
            new = current.with_new_active_key()
            self.stdout.write(new.to_json())
            self.stderr.write(
                _(
                    "新密钥 %(key)s 已生成。请把上面的 JSON 设为所有进程的 PII_KEYS 并重启，"
                    "然后运行 `manage.py rotate_pii_keys --reencrypt`。"
                )
                % {"key": new.active}
            )
            return
        else:
            ring = current.with_new_active_key()
            pii.write_ring_file(settings.PII_KEYS_FILE, ring)
            pii.reload_keyring()
            self.stdout.write(
                _("新密钥 %(key)s 已写入 %(file)s。")
                % {"key": ring.active, "file": settings.PII_KEYS_FILE}
            )
        report = rotation.pii_reencrypt(ring=ring, batch_size=batch_size, dry_run=dry_run)
        totals = {"resealed": 0, "current": 0, "plaintext": 0}
        for name, counts in sorted(report.items()):
            for k in totals:
                totals[k] += counts[k]
            self.stdout.write(
                f"{name}: resealed={counts['resealed']} "
                f"plaintext_sealed={counts['plaintext']} "
                f"already_current={counts['current']}"
            )
        self.stdout.write(
            f"total: resealed={totals['resealed']} "
            f"plaintext_sealed={totals['plaintext']} "
            f"already_current={totals['current']}" + (" (dry run)" if dry_run else "")
        )
        if not dry_run:
            left = rotation.pii_stale_count(ring=ring)
            if left:
                self.stderr.write(
                    _(
                        "%(count)s 个值仍未使用密钥 %(key)s（并发写入？）；"
                        "请带 --reencrypt 再运行一次。"
                    )
                    % {"count": left, "key": ring.active}
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(
                        _("所有个人信息均已使用密钥 %(key)s。") % {"key": ring.active}
                    )
                )

    def _load_ring(self, path, current):
        try:
            ring = pii.KeyRing.from_json(path.read_text())
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"cannot read key ring {path}: {exc}") from exc
        missing = set(current.keys) - set(ring.keys)
        if missing:
            raise CommandError(
                f"the ring in {path} lacks keys {sorted(missing)}: values sealed "
                "with them could no longer be read"
            )
        if ring.index_key != current.index_key:
            raise CommandError("the ring's index_key differs: phone lookups would break")
        return ring
