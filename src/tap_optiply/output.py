"""Singer messages on stdout, serialized by ``orjson``; records a page at a time.

The SDK's writers flush stdout after every message, one system call per record. Here the
tap's own messages (SCHEMA, STATE, ...) are still flushed one by one, while a page of records
(``write_lines``) goes out in one write. Works on a text-only ``sys.stdout`` too (the SDK's
test runners swap in a ``StringIO``).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from singer_sdk.singerlib import Message
from singer_sdk.singerlib.encoding import GenericSingerWriter


def _default(value: Any) -> Any:
    return str(value)  # Decimal, UUID... as their text, like the SDK's encoder


def dumps(document: Any) -> bytes:
    """One compact JSON line (no newline); datetimes in ISO 8601, unknown types as text."""
    return orjson.dumps(document, default=_default)


def write_lines(data: bytes) -> None:
    """Write ready lines (each ending in a newline) and flush once."""
    stdout = sys.stdout
    buffer = getattr(stdout, "buffer", None)
    if buffer is not None:
        stdout.flush()  # anything written as text goes first
        buffer.write(data)
        buffer.flush()
    else:
        stdout.write(data.decode())
        stdout.flush()


class LineWriter(GenericSingerWriter[bytes, Message]):
    """The tap's ``message_writer_class``."""

    def serialize_message(self, message: Message) -> bytes:
        """One JSON line for a message (without its newline)."""
        return dumps(message.to_dict())

    def write_message(self, message: Message) -> None:
        """Write one message and flush."""
        write_lines(self.format_message(message) + b"\n")
