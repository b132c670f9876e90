"""What happens when a deadline of each kind falls due: the handlers the apps register.

Apps register at import time (their ``deadlines.py``, imported from ``AppConfig.ready``); the
engine (``aftersales.deadlines.engine``) runs them, and ``Deadline.description`` tells users
what a pending deadline will do.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

REMINDER_SUFFIX = ".reminder"


@dataclass(frozen=True)
class Handler:
    kind: str
    fn: object
    description_zh: object  # a lazy translation of the Chinese text


_registry: dict[str, Handler] = {}


def deadline_register(kind, handler, description_zh):
    """Declare what happens when a deadline of ``kind`` falls due: ``handler(deadline)``.

    ``description_zh`` tells users what will happen then, as a lazy translation of the Chinese
    text (``gettext_lazy("商家未处理，自动同意退货")``).
    """
    _registry[kind] = Handler(kind, handler, description_zh)
    return handler


def deadline_description(kind):
    """What a deadline of ``kind`` does when it falls due, in the active language."""
    handler = _registry.get(kind)
    if handler is not None:
        return str(handler.description_zh)
    if kind.endswith(REMINDER_SUFFIX):
        base = _registry.get(kind[: -len(REMINDER_SUFFIX)])
        if base is None:
            return _("到期提醒")
        return _("到期提醒：%(what)s") % {"what": base.description_zh}
    return ""


def deadline_handlers():
    """Every registered kind with its ``Handler`` (kind, fn, description), by kind."""
    return {kind: _registry[kind] for kind in sorted(_registry)}


def registered(kind):
    """The ``Handler`` of ``kind``, or ``None``."""
    return _registry.get(kind)
