"""Drop-in replacements for two plaintext token stores: the public import path.

``from vault.compat import TokenStorage, LinearTokenStore`` is what code moving off
those stores writes; the classes live in :mod:`vault.integrations.compat`.
"""

from vault.integrations.compat import LinearTokenStore, TokenStorage, credential_name

__all__ = ["LinearTokenStore", "TokenStorage", "credential_name"]
