"""Temporal: where the server is, which namespace and task queue Nimbus uses."""

from ._env import env, read_address, read_int

TEMPORAL_ADDRESS = read_address("TEMPORAL_ADDRESS")
TEMPORAL_NAMESPACE = env.str("TEMPORAL_NAMESPACE", default="default")
TEMPORAL_TASK_QUEUE = env.str("TEMPORAL_TASK_QUEUE", default="nimbus")
# How often the per-tenant heartbeat schedule fires.
TEMPORAL_HEARTBEAT_INTERVAL_SECONDS = read_int("NIMBUS_HEARTBEAT_INTERVAL_SECONDS", 60, minimum=5)
# Audit: how often the schedule seals every schema's pending audit events, and how many sealed events may
# pass between two signed checkpoints (each seal run that seals anything also ends with one).
AUDIT_SEAL_INTERVAL_SECONDS = read_int("NIMBUS_AUDIT_SEAL_SECONDS", 5, minimum=1)
AUDIT_CHECKPOINT_EVERY = read_int("NIMBUS_AUDIT_CHECKPOINT_EVERY", 1000, minimum=1)
# Audit archives: how often the schedule moves every schema's old sealed events to archives (default daily).
AUDIT_ARCHIVE_INTERVAL_SECONDS = read_int("NIMBUS_AUDIT_ARCHIVE_SECONDS", 86400, minimum=60)
# Events of an archive restored to the table for searching go back out after this many days.
AUDIT_RESTORE_DAYS = read_int("NIMBUS_AUDIT_RESTORE_DAYS", 7, minimum=1)
# Audit exports: how long a finished export's file is kept for download, how many one person may have queued or
# running at once, and how often the schedule removes expired files.
AUDIT_EXPORT_KEEP_HOURS = read_int("NIMBUS_AUDIT_EXPORT_HOURS", 24, minimum=1)
AUDIT_EXPORT_MAX_IN_PROGRESS = read_int("NIMBUS_AUDIT_EXPORT_MAX_IN_PROGRESS", 3, minimum=1)
AUDIT_EXPORT_PURGE_INTERVAL_SECONDS = read_int("NIMBUS_AUDIT_EXPORT_PURGE_SECONDS", 3600, minimum=60)
