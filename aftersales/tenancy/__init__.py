"""Tenancy: who is who (users, merchants and their staff, consumers, API keys), who is acting
(``Actor``), what they may see (``scope``), and personal-data reveals."""
