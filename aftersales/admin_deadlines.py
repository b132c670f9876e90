"""Admin for deadlines, calendar and sandbox clock (issue 3)."""
