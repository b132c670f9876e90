"""Who may read and change the returns endpoints and pages (``aftersales.matrix``)."""

from . import access_analytics  # noqa: E402,F401
from . import access_pages  # noqa: E402,F401
