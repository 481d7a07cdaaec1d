"""RowByKey: the ORM's row, read in the connection's schema, with SQL compiled once; sessions read with it."""

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import ApiToken, User
from apps.accounts.services import api_token_create, user_create
from apps.accounts.session_store import SessionStore
from apps.core.queries import RowByKey

pytestmark = pytest.mark.django_db


def test_returns_what_the_orm_returns_field_for_field(acme):
    with schema_context(acme.schema_name):
        user = user_create(email="rows@acme.test", password=None, display_name="Rows")
        token, _ = api_token_create(user=user, name="t", expires_in_days=7)
        lookup = RowByKey(User, "id")
        for _ in range(2):  # compiled on the first call, reused on the second
            fast, orm = lookup.get(user.pk), User.objects.get(pk=user.pk)
            assert {f.attname: getattr(fast, f.attname) for f in User._meta.concrete_fields} == {
                f.attname: getattr(orm, f.attname) for f in User._meta.concrete_fields
            }
            assert not fast._state.adding and fast._state.db == "default"
        assert RowByKey(ApiToken, "prefix").get(token.prefix).expires_at == token.expires_at
        assert lookup.get(user.pk + 1000) is None


def test_reads_the_schema_the_connection_is_in(acme, globex):
    lookup = RowByKey(User, "email")
    with schema_context(acme.schema_name):
        assert lookup.get("admin@acme.localhost").email == "admin@acme.localhost"
    with schema_context(globex.schema_name):
        assert lookup.get("admin@acme.localhost") is None
        assert lookup.get("admin@globex.localhost") is not None


def test_only_unique_keys():
    with pytest.raises(ValueError, match="not unique"):
        RowByKey(User, "display_name")


def test_sessions_are_read_with_the_compiled_lookup_and_expire(signed_in_client, acme):
    """apps.accounts.session_store: a signed-in session loads; an expired or ended one is anonymous."""
    client = signed_in_client(acme, email="sessions@acme.test")
    key = client.cookies["sessionid"].value
    assert client.get("/api/v1/me/").status_code == 200
    with schema_context(acme.schema_name):
        assert SessionStore(key).load()["_auth_user_id"] == str(client.user.pk)
        Session.objects.filter(session_key=key).update(expire_date=timezone.now())
        store = SessionStore(key)
        assert store.load() == {} and store.session_key is None
    assert client.get("/api/v1/me/").status_code == 401
