"""Deadline engine and calendar models (issue 3). Imported by aftersales/models.py."""
