"""Celery tasks for notifications and webhooks (issue 3)."""
