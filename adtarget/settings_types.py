"""Field types shared by the services' settings objects."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr
from pydantic_settings import NoDecode


def _comma_separated(value: object) -> object:
    """``"a, b"`` from the environment becomes ``["a", "b"]``; lists pass through."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


#: A list written as ``a,b,c`` in the environment (not JSON).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)]
#: The same, for secrets that must not show in logs or reprs.
SecretCommaList = Annotated[list[SecretStr], NoDecode, BeforeValidator(_comma_separated)]
