"""Abstract base models shared by every Nimbus app. No domain logic lives here."""

from django.db import models


class TimeStampedModel(models.Model):
    """Adds creation and last-change times, set by the database layer, never by hand."""

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True
