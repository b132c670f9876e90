"""Notification and webhook models (issue 3). Imported by aftersales/models.py."""
