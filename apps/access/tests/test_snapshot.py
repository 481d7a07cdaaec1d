"""A request reads each schema's access version once; its own changes are still seen by its next decision."""

from django.core.cache import cache

from apps.access import engine, services
from apps.access.selectors import ACCESS_VERSION_KEY, access_version, bump_access_version, version_snapshot


def test_inside_a_snapshot_the_version_is_read_once_and_own_bumps_are_seen(in_acme):
    with version_snapshot():
        first = access_version()
        cache.set(ACCESS_VERSION_KEY, first + 1, None)  # as another process's change would
        assert access_version() == first  # another process's change: seen by the next request
        bump_access_version()  # this request's own change
        assert access_version() == cache.get(ACCESS_VERSION_KEY) > first
    assert access_version() == cache.get(ACCESS_VERSION_KEY)  # outside: read every time


def test_a_change_made_during_the_request_decides_its_next_question(in_acme, admin, make_user, role):
    user = make_user()
    with version_snapshot():
        assert not engine.authorize(user, "accounts:user:view")
        services.role_assign(actor=admin, role=role("read_only"), user=user)
        assert engine.authorize(user, "accounts:user:view")


def test_the_middleware_is_installed(settings):
    assert "apps.access.middleware.AccessVersionSnapshotMiddleware" in settings.MIDDLEWARE


def test_the_fast_version_read_sees_what_the_cache_wrote(in_acme, globex):
    from django_tenants.utils import schema_context

    from apps.access.selectors import _read_version

    cache.set(ACCESS_VERSION_KEY, 41, None)
    cache.incr(ACCESS_VERSION_KEY)
    assert _read_version() == cache.get(ACCESS_VERSION_KEY) == 42
    with schema_context(globex.schema_name):  # another schema's key: its own number
        assert _read_version() == cache.get(ACCESS_VERSION_KEY, 0) != 42
