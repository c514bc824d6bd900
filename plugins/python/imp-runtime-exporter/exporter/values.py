"""Typed access to a component's merged values, with errors that name the key.

Values reach the component as JSON text (Helm's `.Values` for this subchart,
`global` included). Lookups take dotted key paths such as "image.tag"; `None`
(null) counts as absent, as it does in Helm templates. A value of the wrong
type is an error naming the key, never a silent default.
"""

import json
from typing import Any, Optional


class InvalidValues(Exception):
    """Values the component cannot use: becomes the `invalid-values` error."""

    def __init__(self, path: str, why: str):
        super().__init__(f"key '{path}': {why}")
        self.key = path


class Unsupported(Exception):
    """The cluster lacks something the chart needs: becomes `unsupported`."""


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer() and abs(value) < 9.0e15


def _text(value: Any) -> str:
    """A scalar in its JSON form (numbers and booleans as YAML/JSON print them)."""
    return json.dumps(value)


def describe(value: Any) -> str:
    """Names a value's type for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({_text(value)})"
    if isinstance(value, (int, float)):
        return f"a number ({_text(value)})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f'a string ("{shown}")'
    return "a list" if isinstance(value, list) else "a map"


def _wrong(path: str, expected: str, found: Any) -> InvalidValues:
    return InvalidValues(path, f"expected {expected}, found {describe(found)}")


class Values:
    """The merged values of one render."""

    @staticmethod
    def parse(text: str) -> "Values":
        """Parses the `values_json` the host passed; null counts as {}."""
        try:
            root = json.loads(text)
        except ValueError as e:
            raise InvalidValues("(root)", f"values are not valid JSON: {e}") from None
        if root is None:
            root = {}
        if not isinstance(root, dict):
            raise InvalidValues("(root)", f"values must be a map, found {describe(root)}")
        return Values(root)

    def __init__(self, root: dict):
        self.root = root

    def get(self, path: str) -> Any:
        """The value at a dotted path, or None when absent or null."""
        node: Any = self.root
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def opt_str(self, path: str) -> Optional[str]:
        value = self.get(path)
        if value is not None and not isinstance(value, str):
            raise _wrong(path, "a string", value)
        return value

    def str_or(self, path: str, default: str) -> str:
        value = self.opt_str(path)
        return default if value is None else value

    def non_empty_str(self, path: str) -> Optional[str]:
        """A non-empty string, or None when absent or "" (Helm's `if .Values.x`)."""
        return self.opt_str(path) or None

    def scalar_or(self, path: str, default: str) -> str:
        """A scalar as text: strings as they are, numbers and booleans in JSON form."""
        value = self.get(path)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, (bool, int, float)):
            return _text(value)
        raise _wrong(path, "a string", value)

    def bool_or(self, path: str, default: bool) -> bool:
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise _wrong(path, "a boolean", value)
        return value

    def opt_int(self, path: str) -> Optional[int]:
        value = self.get(path)
        if value is None:
            return None
        if not _is_int(value):
            raise _wrong(path, "an integer", value)
        return int(value)

    def int_in(self, path: str, low: int, high: int, default: int) -> int:
        """An integer within [low, high], or `default` when absent."""
        value = self.opt_int(path)
        n = default if value is None else value
        if not low <= n <= high:
            raise InvalidValues(path, f"{n} is out of range {low}..={high}")
        return n

    def port_or(self, path: str, default: int) -> int:
        return self.int_in(path, 1, 65535, default)

    def one_of(self, path: str, allowed: list, default: str) -> str:
        value = self.str_or(path, default)
        if value not in allowed:
            raise InvalidValues(path, f'"{value}" is not one of {", ".join(allowed)}')
        return value

    def map_or(self, path: str, default: dict) -> dict:
        """A map passed through as is (resources, affinity...); `default` when absent."""
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, dict):
            raise _wrong(path, "a map", value)
        return value

    def list_or(self, path: str, default: list) -> list:
        value = self.get(path)
        if value is None:
            return default
        if not isinstance(value, list):
            raise _wrong(path, "a list", value)
        return value

    def string_map(self, path: str) -> dict:
        """A map of strings (labels, annotations, env), sorted by key; numbers
        and booleans become text, null entries are dropped."""
        source = self.map_or(path, {})
        out = {}
        for key in sorted(source):
            value = source[key]
            if value is None:
                continue
            if isinstance(value, str):
                out[key] = value
            elif isinstance(value, (bool, int, float)):
                out[key] = _text(value)
            else:
                raise _wrong(f"{path}.{key}", "a string", value)
        return out
