"""Adapters to outside providers: SMS out (``sms``), signed callbacks in (``callbacks``)."""
