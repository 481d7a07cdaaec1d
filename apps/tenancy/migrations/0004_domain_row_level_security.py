from django.db import migrations

from apps.tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0003_spare_schemas")]

    operations = [EnableTenantRowLevelSecurity("tenancy_domain")]
