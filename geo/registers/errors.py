"""The error a register file raises when it cannot be read as points."""

from __future__ import annotations

from pakhuis.errors import InvalidParameter

__all__ = ["RegisterError"]


class RegisterError(InvalidParameter):
    """A register file cannot be read as points (missing columns, unknown CRS, unreadable)."""

    code = "register_invalid"
