"""Forget the sign-in page's cached choices whenever a provider or the identity settings change (now and at commit)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import IdentityProvider, IdentitySettings
from .selectors import forget_sign_in_choices


@receiver([post_save, post_delete], sender=IdentityProvider, dispatch_uid="identity.sign_in_choices.provider")
@receiver([post_save, post_delete], sender=IdentitySettings, dispatch_uid="identity.sign_in_choices.settings")
def forget_sign_in_choices_on_change(sender, **kwargs):
    # Now, for this transaction's own next read; at commit, for a page that cached the old rows meanwhile.
    forget_sign_in_choices()
    transaction.on_commit(forget_sign_in_choices)
