"""Test helpers shared by every tier: server launchers, waits, free ports."""
