"""The profile store's errors: one root, so callers catch one thing."""

from __future__ import annotations


class ProfileStoreError(RuntimeError):
    """Anything the profile store refuses or cannot do; the message names the key and value."""


class MigrationError(ProfileStoreError):
    """A migration file is malformed, or an applied one was changed afterwards."""


class LoadError(ProfileStoreError):
    """A bulk load could not write its rows (after retries)."""
