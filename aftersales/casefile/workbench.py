"""The merchant's after-sales workbench (issue 14): how many cases wait for the merchant's staff,
each count linking to the list filtered to those cases.

The kernel draws the page; each app registers what it counts (``workbench_register`` in its
``AppConfig.ready``), as it registers its timeline verbs: the kernel never imports the apps.
A source answers with a few queries whatever the number of cases (aggregates of the app's
selectors).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkbenchCount:
    """One tile: ``label`` (translated), ``count``, the filtered list at ``url``; ``key`` names it
    in tests; ``urgent``: the cases are late or nearly so; ``subset``: the cases are counted by
    another tile too (left out of the page's total)."""

    key: str
    label: str
    count: int
    url: str
    hint: str = ""
    urgent: bool = False
    subset: bool = False


_sources = []


def workbench_register(source):
    """``source(*, actor) -> list[WorkbenchCount]`` for a merchant's staff ``actor``."""
    if source not in _sources:
        _sources.append(source)
    return source


def workbench_counts(*, actor):
    """Every registered count for ``actor``, in the order the apps registered them."""
    return [count for source in _sources for count in source(actor=actor)]


def workbench_total(counts):
    """How many cases wait, each once (tiles that count a subset of another's are left out)."""
    return sum(c.count for c in counts if not c.subset)
