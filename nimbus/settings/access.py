"""Access control: django-guardian's object grants are read by Nimbus's engine, never by Django's has_perm."""

# No anonymous user row in every schema: anonymous visitors are refused before any grant is looked at.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
# guardian's backend would answer user.has_perm(perm, obj) on its own, beside the engine: deliberately not hooked.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
