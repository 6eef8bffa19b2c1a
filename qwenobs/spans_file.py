"""A span exporter that appends OTLP/JSON lines to a file (the Collector's file exporter format),
rotating at a size limit, safe for several processes writing to the same file.

How several writers stay apart (threads, forked workers, pytest-xdist, several services):
- Each export is encoded first, then written one line per ``write(2)`` on a descriptor opened
  with ``O_APPEND``. On a local Linux filesystem the kernel appends each such write whole, at the
  end of the file, so lines of different processes never interleave. (NFS does not promise this:
  there, give each process its own file.)
- Rotation happens under an exclusive ``flock`` on ``<file>.lock``: the writer that finds the
  file over the limit re-checks it under the lock, renames it to ``<stem>-<UTC time>-size<ext>``
  and opens a new one. Every writer notices a rotation by the file's inode before its next
  write and reopens the path. A line written in the instant of a rename lands whole in the
  renamed file, which readers take too: nothing is lost or torn.
- Backups beyond ``backups`` are deleted, oldest first, under the same lock.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from . import checks
from .otlp_json import MAX_LINE_BYTES, encode_lines, rotated_name, spans_files

log = logging.getLogger("qwenobs")
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_BACKUPS = 10
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class SpansFileExporter(SpanExporter):
    """Append finished spans to ``path`` as OTLP/JSON lines.

    ``max_bytes``: rotate before a write would take the file past this size (None: never).
    ``backups``: rotated files kept (None: all). ``max_line_bytes``: a batch larger than this is
    split over several lines, so readers never meet huge lines.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        backups: int | None = DEFAULT_BACKUPS,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        for name, value, least, accepted in (
            ("max_bytes", max_bytes, 1, "a positive number of bytes (int) or None"),
            ("backups", backups, 0, "0 or more (int), or None to keep all"),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise checks.wrong_type("SpansFileExporter()", name, value, accepted)
            if value < least:
                raise checks.wrong_value("SpansFileExporter()", name, value, accepted)
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"spans file {str(self.path)!r} is a directory; give a file name")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.backups = backups
        self.max_line_bytes = max_line_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._closed = False
        self._failed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        lines = encode_lines(spans, self.max_line_bytes)
        try:
            with self._lock:
                for line in lines:
                    self._write(line)
        except OSError as exc:
            if not self._failed:  # once: a full disk would otherwise log on every batch
                self._failed = True
                log.warning("qwenobs: cannot write spans to %s (%s); dropping them", self.path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export is written through; nothing is buffered here

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._close_fd()

    # --- writing ---------------------------------------------------------------------------------

    def _write(self, line: bytes) -> None:
        fd = self._current_fd()
        if self.max_bytes is not None and os.fstat(fd).st_size + len(line) > self.max_bytes:
            fd = self._rotate(len(line))
        view = memoryview(line)
        while view:  # a short write (a signal, a full disk) continues where it stopped
            written = os.write(fd, view)
            view = view[written:]

    def _current_fd(self) -> int:
        """Our descriptor of the file now at ``path``; reopened when another writer rotated it."""
        fd = self._fd
        if fd is not None:
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            self._close_fd()
        self._fd = os.open(self.path, _FLAGS, 0o644)
        return self._fd

    def _rotate(self, incoming: int) -> int:
        # A fresh descriptor for the lock each time: flock belongs to the open file, which a
        # forked child would otherwise share with its parent.
        lock = os.open(
            f"{self.path}.lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            fd = self._current_fd()  # another writer may have rotated meanwhile
            size = os.fstat(fd).st_size
            if size and size + incoming > self.max_bytes:  # a line over the limit goes alone
                os.rename(self.path, self._backup_name())
                self._close_fd()
                fd = self._current_fd()
                self._prune()
            return fd
        finally:
            os.close(lock)  # closing releases the lock

    def _backup_name(self) -> Path:
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp = now.strftime("%Y-%m-%dT%H-%M-%S.") + f"{now.microsecond // 1000:03d}"
        target = rotated_name(self.path, stamp)
        n = 1
        while target.exists():  # two rotations in one millisecond
            target = rotated_name(self.path, f"{stamp}-{n}")
            n += 1
        return target

    def _prune(self) -> None:
        if self.backups is None:
            return
        rotated = [p for p in spans_files([self.path]) if p != self.path.resolve()]
        for old in rotated[: max(0, len(rotated) - self.backups)]:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()

    def _close_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


class FileSpanProcessor(SpanProcessor):
    """A ``BatchSpanProcessor`` into a ``SpansFileExporter`` that can be detached: SDK tracer
    providers cannot remove a processor, so after ``shutdown()`` (``uninstrument()``) this one
    flushes, closes the file and then ignores spans."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.exporter = SpansFileExporter(path)
        self._batch = BatchSpanProcessor(self.exporter)
        self._active = True

    def on_end(self, span: ReadableSpan) -> None:
        if self._active:
            self._batch.on_end(span)

    def shutdown(self) -> None:
        if self._active:
            self._active = False
            self._batch.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batch.force_flush(timeout_millis) if self._active else True


def attach(path: str | os.PathLike[str], tracer_provider: Any) -> tuple[Any, FileSpanProcessor]:
    """Send the spans of ``tracer_provider`` (an SDK ``TracerProvider``; None: the global one, or
    a new one when none is configured) to a spans file as well. Returns (the provider to trace
    with, the processor), so the caller can shut the processor down later."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    if not hasattr(provider, "add_span_processor"):
        if tracer_provider is not None:
            raise ValueError(
                "spans_file needs an OpenTelemetry SDK TracerProvider to add its exporter to; "
                f"tracer_provider is a {type(tracer_provider).__name__}"
            )
        # No SDK configured: qwenobs's own spans go to the file (the app's other spans, if any,
        # stay where they were). Resource.create() reads OTEL_SERVICE_NAME.
        provider = TracerProvider(resource=Resource.create())
    processor = FileSpanProcessor(path)
    provider.add_span_processor(processor)
    return provider, processor
