"""Suspend, resume, archive, delete: allowed transitions and their refusals."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_exists

from apps.tenancy import services
from apps.tenancy.models import Domain, Tenant, TenantStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_provider")]


def test_suspend_then_resume_restores_active(globex):
    assert services.tenant_suspend(tenant=globex).status == TenantStatus.SUSPENDED
    assert services.tenant_resume(tenant=globex).status == TenantStatus.ACTIVE


def test_suspending_twice_is_harmless(initech):
    assert services.tenant_suspend(tenant=initech).status == TenantStatus.SUSPENDED


def test_suspended_parent_makes_its_sub_tenants_effectively_suspended(acme):
    services.tenant_suspend(tenant=acme)
    child = Tenant.objects.select_related("parent").get(slug="acme-dev")
    assert child.status == TenantStatus.ACTIVE
    assert child.effective_status() == TenantStatus.SUSPENDED


def test_archive_refuses_while_sub_tenants_are_live(acme):
    with pytest.raises(ValidationError, match="acme-dev"):
        services.tenant_archive(tenant=acme)


def test_archived_tenant_cannot_be_resumed_or_suspended(globex):
    services.tenant_archive(tenant=globex)
    with pytest.raises(ValidationError, match="archived"):
        services.tenant_resume(tenant=globex)
    with pytest.raises(ValidationError, match="archived"):
        services.tenant_suspend(tenant=globex)


def test_only_an_archived_tenant_can_be_deleted(globex):
    with pytest.raises(ValidationError, match="must be archived"):
        services.tenant_delete(tenant=globex)
    assert schema_exists("t_globex")


def test_deleting_an_archived_tenant_drops_schema_row_and_domains(globex):
    services.tenant_archive(tenant=globex)
    services.tenant_delete(tenant=globex)
    assert not schema_exists("t_globex")
    assert not Tenant.objects.filter(slug="globex").exists()
    assert not Domain.objects.filter(domain="globex.localhost").exists()


def test_tenant_with_sub_tenants_cannot_be_deleted(acme, acme_dev):
    services.tenant_archive(tenant=acme_dev)
    services.tenant_archive(tenant=acme)
    with pytest.raises(ValidationError, match="sub-tenants"):
        services.tenant_delete(tenant=acme)


def test_provider_cannot_be_suspended_archived_or_deleted(provider):
    for service in (services.tenant_suspend, services.tenant_archive, services.tenant_delete):
        with pytest.raises(ValidationError, match="provider"):
            service(tenant=provider)


def test_domains_can_be_added_promoted_and_removed(globex):
    extra = services.domain_add(tenant=globex, domain="Globex.Example.COM")
    assert extra.domain == "globex.example.com" and not extra.is_primary
    services.domain_update(domain=extra, is_primary=True)
    assert Domain.objects.get(domain="globex.localhost").is_primary is False
    services.domain_remove(domain=Domain.objects.get(domain="globex.localhost"))
    assert list(globex.domains.values_list("domain", flat=True)) == ["globex.example.com"]


def test_primary_domain_cannot_be_removed_or_demoted(globex):
    primary = Domain.objects.get(domain="globex.localhost")
    with pytest.raises(ValidationError, match="primary"):
        services.domain_remove(domain=primary)
    with pytest.raises(ValidationError, match="primary"):
        services.domain_update(domain=primary, is_primary=False)


def test_domain_taken_by_another_tenant_is_refused(globex):
    with pytest.raises(ValidationError, match="already in use"):
        services.domain_add(tenant=globex, domain="acme.localhost")
