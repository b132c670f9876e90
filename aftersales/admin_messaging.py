"""Admin for notifications and webhooks (issue 3)."""
