"""A string that will not print itself.

Tokens, refresh tokens, client secrets and passphrases travel through the code as
:class:`Secret`, so an accidental ``print``, f-string, ``repr``, log call or
traceback shows ``Secret('***')`` instead of the value.  The value comes out only
through :meth:`Secret.reveal`, which is easy to grep for.
"""

from __future__ import annotations

import hmac
from typing import NoReturn


class Secret:
    """An opaque wrapper around a secret string.

    Args:
        value: the secret itself.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """Return the secret value. Every call site is a place a secret leaves."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")
