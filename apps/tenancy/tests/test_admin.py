"""Provider staff manage tenants in the Django admin, through the services."""

import pytest
from django_tenants.utils import schema_exists

from apps.accounts.models import User
from apps.tenancy.models import Tenant, TenantStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_provider")]


@pytest.fixture
def staff_client(host_client, provider):
    user = User.objects.create_superuser("staff@nimbus.test", "a-long-staff-password")
    client = host_client("localhost")
    client.force_login(user)
    return client


def post_add_form(client, **fields):
    """Submit the admin's 'add tenant' form; a tenant unless ``kind`` says otherwise, on the standard plan."""
    return client.post("/admin/tenancy/tenant/add/", {"kind": "tenant", "plan": "standard", **fields})


def change_data(tenant, *, keep_primary: bool = True, extra_domains=(), **fields) -> dict:
    """POST data for the tenant's change page: its current values, the given changes, its domains inline."""
    domain = tenant.domains.get()
    data = {
        "name": tenant.name,
        "plan": tenant.plan,
        "max_users": tenant.max_users,
        "max_sub_tenants": tenant.max_sub_tenants,
        "max_cis": tenant.max_cis,
        "domains-TOTAL_FORMS": 1 + len(extra_domains),
        "domains-INITIAL_FORMS": 1,
        "domains-MIN_NUM_FORMS": 0,
        "domains-MAX_NUM_FORMS": 1000,
        "domains-0-id": domain.pk,
        "domains-0-tenant": tenant.pk,
        "domains-0-domain": domain.domain,
        **fields,
    }
    if keep_primary:
        data["domains-0-is_primary"] = "on"
    for index, extra in enumerate(extra_domains, start=1):
        data[f"domains-{index}-tenant"] = tenant.pk
        data[f"domains-{index}-domain"] = extra
    return data


def test_changelist_shows_the_tenant_tree(staff_client):
    response = staff_client.get("/admin/tenancy/tenant/")
    assert response.status_code == 200
    content = response.content.decode()
    # Each parent is followed by its children.
    assert content.index("Acme Corporation") < content.index("Acme Development") < content.index("Globex")


def test_adding_a_tenant_provisions_it(staff_client):
    response = post_add_form(staff_client, name="Wayne Enterprises", slug="wayne", domain="")
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(slug="wayne")
    assert schema_exists("t_wayne")
    assert tenant.domains.get().domain == "wayne.localhost"


def test_adding_a_sub_tenant_over_quota_shows_the_error_on_the_form(staff_client, acme):
    response = post_add_form(
        staff_client, name="Acme Huge", slug="acme-huge", kind="sub_tenant", parent=acme.pk, max_users="1000"
    )
    assert response.status_code == 200
    assert "exceeds what" in response.content.decode()
    assert not Tenant.objects.filter(slug="acme-huge").exists()


def test_reserved_slug_is_refused_on_the_form(staff_client):
    response = post_add_form(staff_client, name="Admin", slug="admin")
    assert response.status_code == 200
    assert "is reserved" in response.content.decode()


def test_suspend_and_resume_actions(staff_client, globex):
    staff_client.post("/admin/tenancy/tenant/", {"action": "suspend_selected", "_selected_action": [globex.pk]})
    assert Tenant.objects.get(pk=globex.pk).status == TenantStatus.SUSPENDED
    staff_client.post("/admin/tenancy/tenant/", {"action": "resume_selected", "_selected_action": [globex.pk]})
    assert Tenant.objects.get(pk=globex.pk).status == TenantStatus.ACTIVE


def test_archive_action_reports_refusals_instead_of_failing(staff_client, acme):
    response = staff_client.post(
        "/admin/tenancy/tenant/", {"action": "archive_selected", "_selected_action": [acme.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "Archive its sub-tenants first" in response.content.decode()
    assert Tenant.objects.get(pk=acme.pk).status == TenantStatus.ACTIVE


def test_delete_is_offered_only_for_archived_tenants(staff_client, globex):
    assert staff_client.get(f"/admin/tenancy/tenant/{globex.pk}/delete/").status_code == 403
    staff_client.post("/admin/tenancy/tenant/", {"action": "archive_selected", "_selected_action": [globex.pk]})
    response = staff_client.post(f"/admin/tenancy/tenant/{globex.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Tenant.objects.filter(pk=globex.pk).exists()
    assert not schema_exists("t_globex")


def test_editing_quotas_goes_through_quota_rules(staff_client, acme):
    url = f"/admin/tenancy/tenant/{acme.pk}/change/"
    response = staff_client.post(url, change_data(acme, name="Acme Corp", max_users=5))
    assert response.status_code == 200
    assert "Sub-tenants already hold 10" in response.content.decode()
    response = staff_client.post(url, change_data(acme, name="Acme Corp", max_users=50))
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.max_users) == ("Acme Corp", 50)


def test_domains_inline_adds_a_domain_through_the_service(staff_client, globex):
    data = change_data(globex, extra_domains=["globex.example.com"])
    response = staff_client.post(f"/admin/tenancy/tenant/{globex.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(globex.domains.values_list("domain", flat=True)) == ["globex.example.com", "globex.localhost"]


def test_tenant_users_never_reach_the_admin(host_client, acme):
    assert host_client("acme.localhost").get("/admin/login/").status_code == 404


def test_change_rejected_for_an_inline_error_saves_nothing(staff_client, globex):
    # No primary domain left: the inline is invalid, after the form's clean() already called the service.
    data = change_data(globex, keep_primary=False, name="Globex RENAMED", plan="starter", max_users=7)
    response = staff_client.post(f"/admin/tenancy/tenant/{globex.pk}/change/", data)
    assert response.status_code == 200
    assert "Exactly one domain must be primary" in response.content.decode()
    globex.refresh_from_db()
    assert (globex.name, globex.plan, globex.max_users) == ("Globex", "standard", 100)


def test_out_of_range_quota_is_a_form_error_not_a_crash(staff_client):
    response = post_add_form(staff_client, name="Huge", slug="huge", max_cis="99999999999")
    assert response.status_code == 200
    assert "from 0 to 2147483647" in response.content.decode()
