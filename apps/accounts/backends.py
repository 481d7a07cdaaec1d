"""The password backend of every realm: Django's ModelBackend, with a cheaper per-request user lookup.

A signed-in browser's every request turns the session's user id back into a
user. Django builds and compiles that query with the ORM each time, which cost
more CPU than running it; this backend reads the row with a statement the ORM
compiles once per process (``apps.core.queries.RowByKey``). The row is never
cached, so a disabled user is refused on their next request.
"""

from django.contrib.auth.backends import ModelBackend

from .selectors import user_for_authentication

BACKEND_PATH = "apps.accounts.backends.AccountBackend"


class AccountBackend(ModelBackend):
    def get_user(self, user_id):
        try:
            user = user_for_authentication(int(user_id))
        except (TypeError, ValueError):
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
