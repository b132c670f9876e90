"""Messaging: notifications (in-app, email, SMS), the webhook outbox and its deliveries, and the
signed inbound callbacks of providers."""
