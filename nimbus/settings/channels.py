"""Channels: ASGI entry point and the Redis channel layer."""

from ._env import read_int, read_redis_url

ASGI_APPLICATION = "nimbus.asgi.application"
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [read_redis_url()],
            "prefix": "nimbus:channels",
            # channels-redis silently drops messages past this; the default of 100 is too small.
            "capacity": read_int("NIMBUS_CHANNEL_CAPACITY", 1000, minimum=100),
            "expiry": 60,
        },
    }
}
