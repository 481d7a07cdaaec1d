"""Users. Each schema (the provider's public one and every tenant's) has its own table of them."""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address, unique within its schema (case-insensitively)."""

    email = models.EmailField(max_length=254, unique=True)
    display_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the provider admin.")
    is_tenant_admin = models.BooleanField(
        default=False, help_text="Manages this tenant's users (until roles and policies replace this flag)."
    )
    date_joined = models.DateTimeField(auto_now_add=True)
    password_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the password was last set; the tenant's maximum age counts from here."
    )
    tokens_valid_after = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Access tokens issued before this moment are refused (set on sign-out everywhere).",
    )
    # A delegated account stands in, in this schema, for a person whose own ("home") account lives in
    # another schema: provider staff in public, or an administrator of the parent tenant.
    is_delegated = models.BooleanField(default=False)
    home_schema = models.CharField(max_length=63, blank=True, help_text="Schema of the home account.")
    home_user_id = models.BigIntegerField(null=True, blank=True, help_text="Id of the home account in its schema.")
    home_email = models.EmailField(max_length=254, blank=True, help_text="Email of the home account, for display.")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.UniqueConstraint(
                fields=["home_schema", "home_user_id"],
                condition=models.Q(is_delegated=True),
                name="accounts_user_one_delegate_per_home_account",
            ),
            models.CheckConstraint(
                condition=models.Q(is_delegated=False)
                | (models.Q(home_user_id__isnull=False) & ~models.Q(home_schema="")),
                name="accounts_user_delegate_has_home",
            ),
        ]
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]


class ApiToken(models.Model):
    """A personal API token: shown once, stored as a SHA-256 digest, optionally expiring, revocable.

    The token reads ``nmb_<prefix>_<secret>``. The prefix finds the row and is
    shown in lists; only the secret's digest is kept. Tokens live in the
    tenant's schema, so one is meaningless on another tenant's host.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (nmb_{self.prefix}_…)"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class UserSession(models.Model):
    """A signed-in session of a user, so people can see where they are signed in and end it.

    Django's session table does not say whose a session is; this row does,
    with where it came from. Deleting a session deletes its row and the
    session itself.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.ip_address or '?'}"


class PasswordHistory(models.Model):
    """A password hash a user had, so the tenant's policy can refuse re-using the last N."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "password history"

    def __str__(self) -> str:
        return f"password of {self.user_id} set {self.created_at:%Y-%m-%d}"


class AccountPolicy(models.Model):
    """Password and session rules of one schema (one row, created with defaults on first read)."""

    SINGLETON_ID = 1

    min_password_length = models.PositiveSmallIntegerField(
        default=12, validators=[MinValueValidator(8), MaxValueValidator(128)]
    )
    password_history_count = models.PositiveSmallIntegerField(
        default=5,
        validators=[MaxValueValidator(24)],
        help_text="How many previous passwords may not be used again (0: no check).",
    )
    password_max_age_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days after which a password must be changed (empty: never).",
    )
    session_idle_minutes = models.PositiveIntegerField(
        default=8 * 60,
        validators=[MinValueValidator(5), MaxValueValidator(30 * 24 * 60)],
        help_text="A session without activity for this long ends.",
    )
    session_absolute_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(90 * 24)],
        help_text="A session ends this long after sign-in, active or not.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account policy"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="accounts_accountpolicy_singleton")]

    def __str__(self) -> str:
        return "Account policy"

    def clean(self):
        idle, absolute = self.session_idle_minutes, self.session_absolute_hours
        # full_clean calls this even when a field failed its own checks; compare only numbers.
        if isinstance(idle, int) and isinstance(absolute, int) and idle > absolute * 60:
            raise ValidationError(
                {"session_idle_minutes": "The idle limit cannot be longer than the maximum session length."}
            )
