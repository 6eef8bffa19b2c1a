"""The cassette file format: vcrpy's YAML, with multi-line text (SSE streams, pretty-printed JSON)
written as literal blocks so a cassette reads like the traffic it holds. Plain YAML either way:
vcrpy's own serializer and pytest-recording read these files unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is much faster on long streams
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted scalar by itself when a literal block cannot hold the text.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


class QwenYamlSerializer:
    """A vcrpy serializer (``serialize``/``deserialize`` as module-level functions would be)."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        return yaml.dump(
            cassette_dict, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
        )

    @staticmethod
    def deserialize(cassette_string: str) -> dict[str, Any]:
        return yaml.load(cassette_string, Loader=_Loader)  # a safe loader (C or pure)


def load_interactions(path: str | Path) -> list[tuple[Any, dict[str, Any]]]:
    """The (vcr request, response dict) pairs of a cassette file, bodies as bytes."""
    from vcr.serialize import deserialize

    text = Path(path).read_text(encoding="utf-8")
    requests, responses, *_ = deserialize(text, QwenYamlSerializer)
    return list(zip(requests, responses, strict=True))
