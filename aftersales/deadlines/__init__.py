"""Deadlines: the engine and its sweep, the handlers' registry, the holiday calendar and time
rules, and the sandbox clock."""
