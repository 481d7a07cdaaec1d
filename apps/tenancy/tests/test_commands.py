"""Management commands for scripts and operators."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_exists

from apps.tenancy.models import Tenant, TenantStatus

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_and_sub_tenant(acme):
    assert "Provisioned tenant 'hooli'" in run("create_tenant", "hooli", "--plan", "starter")
    assert schema_exists("t_hooli")
    output = run("create_tenant", "acme-qa", "--parent", "acme", "--max-users", "5", "--domain", "qa.acme.test")
    assert "sub_tenant 'acme-qa'" in output and "qa.acme.test" in output
    assert Tenant.objects.get(slug="acme-qa").max_users == 5


def test_create_tenant_reports_validation_errors_as_command_errors():
    with pytest.raises(CommandError, match="reserved"):
        run("create_tenant", "www")
    with pytest.raises(CommandError, match="No tenant with slug 'ghost'"):
        run("create_tenant", "ghost-child", "--parent", "ghost")


def test_list_tenants_prints_the_tree():
    lines = run("list_tenants").splitlines()
    slugs = [line.strip().removeprefix("└─ ").split()[0] for line in lines]
    assert slugs == ["provider", "acme", "acme-dev", "globex", "initech", "vandelay"]
    assert lines[2].startswith("    └─ acme-dev")
    assert "[tenant, suspended]" in lines[4]


def test_suspend_resume_and_archive_commands(globex):
    assert "now suspended" in run("suspend_tenant", "globex")
    assert Tenant.objects.get(slug="globex").status == TenantStatus.SUSPENDED
    assert "now active" in run("resume_tenant", "globex")
    assert "now archived" in run("archive_tenant", "globex")
    with pytest.raises(CommandError, match="No tenant"):
        run("suspend_tenant", "nobody")


def test_migrate_all_skips_tenants_already_up_to_date():
    output = run("migrate_all")
    assert "0 of 5 tenant schema(s) (5 already up to date)" in output
