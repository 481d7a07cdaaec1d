"""Test support shipped with Nimbus: the pytest plugin that provides real services."""
