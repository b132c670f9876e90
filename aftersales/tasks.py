"""Celery tasks of the kernel: thin wrappers that take ids and call a service."""

from .messaging_tasks import *  # noqa: F401,F403
