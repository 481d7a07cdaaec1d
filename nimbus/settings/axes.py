"""Sign-in lockout (django-axes): too many failed sign-ins lock the account and the address for a while.

axes is installed in every schema (see tenants.py), so its records of failed
attempts belong to the tenant whose host was used: locking ``bob@x`` on acme
does nothing to a ``bob@x`` on globex. The database handler keeps no state in
the cache. The callables it needs (whose name, which address, which response)
live in ``apps.accounts.lockout``.
"""

from datetime import timedelta

from ._env import read_bool, read_int

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account or address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "apps.accounts.backends.AccountBackend",
]

# Failures (counted per account and, separately, per address) that lock, and for how long (0: until unlocked).
AXES_FAILURE_LIMIT = read_int("NIMBUS_LOCKOUT_FAILURES", 5, minimum=1, maximum=100)
_LOCKOUT_MINUTES = read_int("NIMBUS_LOCKOUT_MINUTES", 15, minimum=0, maximum=7 * 24 * 60)
AXES_COOLOFF_TIME = timedelta(minutes=_LOCKOUT_MINUTES) if _LOCKOUT_MINUTES else None
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]

# axes' own reset-on-success forgets every failure from the signing-in address, including failures against other
# accounts: an attacker with any valid account could clear their tally. apps.accounts resets the account only.
AXES_RESET_ON_SUCCESS = False

# The sign-in form posts `username`, the JWT endpoint `email`: the callable reads either, lower-cased.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "apps.accounts.lockout.attempted_username"
# django-ipware is not installed, so axes' AXES_IPWARE_* settings would be ignored; this callable decides.
AXES_CLIENT_IP_CALLABLE = "apps.accounts.lockout.client_ip"
NIMBUS_TRUST_X_FORWARDED_FOR = read_bool("NIMBUS_BEHIND_TLS_PROXY", False)
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"

# Successful sign-ins are already recorded as UserSession rows (and will be audit events); axes' access log would
# be a second copy of every sign-in that nothing prunes. Failed attempts are still recorded (AccessAttempt).
AXES_DISABLE_ACCESS_LOG = True

# Masked in the form data axes stores with each failed attempt and in its log lines (it masks `password` itself).
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "email",
    "ip_address",
    "password",
    "csrfmiddlewaretoken",
    "refresh",
    "token",
    "code",
]
