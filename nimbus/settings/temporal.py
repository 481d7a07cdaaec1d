"""Temporal: where the server is, which namespace and task queue Nimbus uses."""

from ._env import env, read_address, read_int

TEMPORAL_ADDRESS = read_address("TEMPORAL_ADDRESS")
TEMPORAL_NAMESPACE = env.str("TEMPORAL_NAMESPACE", default="default")
TEMPORAL_TASK_QUEUE = env.str("TEMPORAL_TASK_QUEUE", default="nimbus")
# How often the per-tenant heartbeat schedule fires.
TEMPORAL_HEARTBEAT_INTERVAL_SECONDS = read_int("NIMBUS_HEARTBEAT_INTERVAL_SECONDS", 60, minimum=5)
