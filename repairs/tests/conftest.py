"""Fixtures shared by the repairs tests: two admitted repair providers with a technician each."""

import pytest

from . import factories_pages as fp


@pytest.fixture
def techs(db):
    return {"p1": fp.provider_user("tech-one"), "p2": fp.provider_user("tech-two")}


@pytest.fixture
def shops(techs):
    """Two admitted providers, each with one technician."""
    return {
        "p1": fp.provider(name="顺达家电维修中心", licence="LIC-1", staff=[techs["p1"]]),
        "p2": fp.provider(name="远航维修", licence="LIC-2", staff=[techs["p2"]]),
    }
