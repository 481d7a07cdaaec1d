"""Celery on Redis. Tasks run in the schema they were sent from (tenant-schemas-celery)."""

from ._env import read_int, read_redis_url

CELERY_BROKER_URL = read_redis_url()
CELERY_RESULT_BACKEND = read_redis_url()
CELERY_TASK_DEFAULT_QUEUE = "nimbus"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_TIME_LIMIT = read_int("NIMBUS_CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 10 if CELERY_TASK_TIME_LIMIT > 20 else None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
