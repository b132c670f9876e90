import pytest
from django.test import override_settings

from aftersales import pii


@pytest.fixture
def ring_file(tmp_path):
    """A file-based key ring holding the current keys, so a test may rotate it freely."""
    path = tmp_path / "pii_keys.json"
    pii.write_ring_file(path, pii.keyring())
    with override_settings(PII_KEYS=None, PII_KEYS_FILE=path):
        pii.reload_keyring()
        yield path
    pii.reload_keyring()
