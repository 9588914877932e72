"""Parsing a JSON payload into a document or a refusal that says what is wrong."""

from __future__ import annotations

import json
from typing import Any

from pakhuis.reading import Rejection


def load_json(payload: bytes) -> Any | Rejection:
    try:
        return json.loads(payload)
    except UnicodeDecodeError:
        return Rejection("bad_json", "payload is not UTF-8 text")
    except json.JSONDecodeError as exc:
        return Rejection("bad_json", f"payload is not valid JSON: {exc}")
    except ValueError:
        return Rejection("bad_json", "payload holds a number too long to read")
    except RecursionError:
        return Rejection("bad_json", "payload nests too deeply")
