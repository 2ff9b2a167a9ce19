"""Drop-in replacements for two plaintext token stores: the public import path.

``from vault.compat import TokenStorage, LinearTokenStore`` is what code moving off
those stores writes; the classes live in :mod:`vault.integrations.compat` and
:mod:`vault.integrations.linear_store`.
"""

from vault.integrations.compat import TokenStorage
from vault.integrations.keyed import credential_name
from vault.integrations.linear_store import LinearTokenStore

__all__ = ["LinearTokenStore", "TokenStorage", "credential_name"]
