"""JWT access and refresh tokens (djangorestframework-simplejwt), as Nimbus issues them.

The tokens are built by ``apps.accounts.jwt``: they carry the issuing tenant's
schema and are signed with a key derived from SECRET_KEY there, at run time,
so SECRET_KEY itself never signs a token. ``SIGNING_KEY`` is therefore left
empty here: simplejwt's stock token classes, which would use it, are not
used, and would fail rather than sign with the raw secret.
"""

from datetime import timedelta

from ._env import read_int

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=read_int("NIMBUS_JWT_ACCESS_MINUTES", 5, minimum=1, maximum=60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=read_int("NIMBUS_JWT_REFRESH_HOURS", 24, minimum=1, maximum=24 * 30)),
    # Each refresh returns a new refresh token and blacklists the one presented: a stolen one works once at most.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Issuing a token is not a sign-in to record (and would turn every refresh into a user write).
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": None,
    "LEEWAY": timedelta(seconds=5),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("apps.accounts.jwt.AccessToken",),
    "CHECK_USER_IS_ACTIVE": True,
}
