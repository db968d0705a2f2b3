"""How a dead-lettering ended, as the archive's `outcome` column says. Pure: no SQLAlchemy here."""

OUTCOMES = ("open", "requeued", "deleted", "purged", "trimmed", "expired")
