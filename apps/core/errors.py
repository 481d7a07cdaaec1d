"""Turning validation errors into one line a person can read (commands, logs)."""

from django.core.exceptions import ValidationError


def describe_validation_error(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
