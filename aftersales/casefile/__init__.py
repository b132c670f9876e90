"""The case file: every case's timeline, the domain events apps publish, and the one helper
that moves a status."""
