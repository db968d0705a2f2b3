"""The audit log of operator actions: who did what, when, to which dead jobs, and how it went.

Every operator action (requeue, replay, delete, purge, dismiss, pause, resume) from the CLI, the
dashboard, the API or the Python API calls `AuditLog.record` once, after it ran. The records live in
a bounded Redis stream (`<prefix>audit`, AUDIT_MAX_ENTRIES) and, with ARCHIVE_URL set, reach the SQL
archive's `audit` table through the archive's event stream (docs/audit-and-roles.md).
"""

from failure_handlers.audit.actor import Actor, os_actor
from failure_handlers.audit.log import AuditLog, AuditRecord, Target

__all__ = ["Actor", "AuditLog", "AuditRecord", "Target", "os_actor"]
