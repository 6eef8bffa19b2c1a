"""From incident to regression test: replay the model's answers of a captured conversation against
the application, checking at every call that it sends what it sent then.

``load(source, trace_id)`` reads a recording from OTLP/JSON span lines (a Collector's file or
qwenobs's spans file), Phoenix, a qwenobs cassette, or a replay file written by ``qwenobs
capture``; ``FakeDashScope.from_trace`` answers from it.
"""

from __future__ import annotations

from .compare import Options
from .player import Replay, ReplayMismatch
from .recording import Recording, ReplayUnavailable
from .sources import load

__all__ = ["Options", "Recording", "Replay", "ReplayMismatch", "ReplayUnavailable", "load"]
