from django.db import migrations

from apps.tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [EnableTenantRowLevelSecurity("tenancy_tenantheartbeat")]
