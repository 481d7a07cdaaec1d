"""Tests of the accounts app. ``PASSWORD`` is the one the shared ``alice`` fixture signs in with."""

PASSWORD = "correct-horse-battery-staple"
