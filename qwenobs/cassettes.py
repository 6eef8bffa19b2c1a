"""The cassette file format, shared by the pytest plugin, ``qwenobs lint`` and trace replay.

A cassette is vcrpy's YAML, with multi-line text (SSE streams, pretty-printed JSON) written as
literal blocks so it reads like the traffic it holds. Plain YAML either way: vcrpy's own serializer
and pytest-recording read these files unchanged. PyYAML and vcrpy are imported only when a
cassette is read or written; without them the error names the extra that installs them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .extras import need

EXTRA = "cassettes"


@functools.cache
def _yaml() -> tuple[Any, type, type]:
    """PyYAML, its fastest safe loader, and a dumper writing multi-line text as literal blocks."""
    yaml = need("yaml", EXTRA, "reading and writing cassettes")
    # The C loader is much faster on long streams; pure PyYAML lacks it.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        # PyYAML falls back to a quoted scalar by itself when a literal block cannot hold the text.
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml, loader, Dumper


class QwenYamlSerializer:
    """A vcrpy serializer (``serialize``/``deserialize`` as module-level functions would be)."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        yaml, _, dumper = _yaml()
        return yaml.dump(
            cassette_dict, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100
        )

    @staticmethod
    def deserialize(cassette_string: str) -> dict[str, Any]:
        yaml, loader, _ = _yaml()
        return yaml.load(cassette_string, Loader=loader)  # a safe loader (C or pure)


def load_interactions(path: str | Path) -> list[tuple[Any, dict[str, Any]]]:
    """The (vcr request, response dict) pairs of a cassette file, bodies as bytes."""
    serialize = need("vcr.serialize", EXTRA, "reading cassettes")
    text = Path(path).read_text(encoding="utf-8")
    requests, responses, *_ = serialize.deserialize(text, QwenYamlSerializer)
    return list(zip(requests, responses, strict=True))
