"""Django's database sessions, read with a lookup compiled once per process (``SESSION_ENGINE``).

A signed-in browser's every request reads its session row; building that
query with the ORM each time cost more CPU than running it (see
``apps.core.queries``). The row, the expiry check and everything else are
Django's: sessions still live in the tenant's schema, and ending one deletes
its row, which the next request sees at once.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from apps.core.queries import RowByKey

_session_by_key = RowByKey(Session, "session_key")


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        session = _session_by_key.get(self.session_key)
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None  # as Django does: an unknown or expired key is dropped
            return None
        return session
