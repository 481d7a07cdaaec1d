"""Plans: named bundles of default quotas offered to tenants."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    label: str
    max_users: int
    max_sub_tenants: int
    max_cis: int

    def quotas(self) -> dict[str, int]:
        return {"max_users": self.max_users, "max_sub_tenants": self.max_sub_tenants, "max_cis": self.max_cis}


PLANS = {
    plan.name: plan
    for plan in (
        Plan("starter", "Starter", max_users=10, max_sub_tenants=0, max_cis=500),
        Plan("standard", "Standard", max_users=100, max_sub_tenants=5, max_cis=5_000),
        Plan("enterprise", "Enterprise", max_users=5_000, max_sub_tenants=100, max_cis=500_000),
    )
}
QUOTA_FIELDS = ("max_users", "max_sub_tenants", "max_cis")
PLAN_CHOICES = [(plan.name, plan.label) for plan in PLANS.values()]
