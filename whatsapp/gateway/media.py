"""Files to and from the gateway without holding them in memory.

Outbound, a file becomes a request body that is streamed with a known length: a JSON body whose
one string is a data URL (send-file-base64, send-voice-base64: the contract's §1.5 says which
route takes a data URL), or a multipart form (send-file) for files whose JSON would pass the
server's 50 MB body limit (§1.4). Inbound, download-media answers `{"base64": "…", "mimetype":
"…"}`; `read_base64_answer` decodes that string into a file as it arrives.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any

from .errors import ProtocolError

# body-parser's json limit on the server (`express.json({limit: '50mb'})`), with room to spare.
JSON_BODY_LIMIT = 50 * 1024 * 1024 - 64 * 1024
# A multiple of 3, so each block encodes to base64 without padding in the middle.
BLOCK = 48 * 1024


@dataclass(frozen=True)
class Upload:
    """A file to send: a way to read it (again, for each try), its size, type and name."""

    open: Callable[[], AbstractContextManager[IO[bytes]]]
    size: int
    mime: str
    filename: str = ""
    # What the server reads the type from when the file goes as a form upload (§2.1).
    extension: str = "bin"


def base64_length(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _blocks(upload: Upload) -> Iterator[bytes]:
    """The file in blocks of exactly BLOCK bytes (the last shorter); checks its size."""
    seen = 0
    pending = b""
    with upload.open() as handle:
        while True:
            data = handle.read(BLOCK - len(pending))
            if not data:
                break
            pending += data
            if len(pending) == BLOCK:
                seen += len(pending)
                yield pending
                pending = b""
    seen += len(pending)
    if pending:
        yield pending
    if seen != upload.size:
        raise ProtocolError(f"the file changed while it was sent ({seen} of {upload.size} bytes)")


class StreamedBody:
    """An iterable request body of known length: requests sends it with a Content-Length."""

    def __init__(self, parts: list[bytes | tuple[str, Upload]]) -> None:
        self.parts = parts
        self.length = 0
        for part in parts:
            if isinstance(part, bytes):
                self.length += len(part)
            else:
                encoding, upload = part
                raw = upload.size
                self.length += base64_length(raw) if encoding == "base64" else raw

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
                continue
            encoding, upload = part
            for block in _blocks(upload):
                yield base64.b64encode(block) if encoding == "base64" else block


def data_url_json(fields: dict[str, Any], key: str, upload: Upload) -> StreamedBody:
    """`{...fields, key: "data:<mime>;base64,<the file>"}`, streamed."""
    head = json.dumps(fields, ensure_ascii=False)
    opening = (head[:-1] + ("," if fields else "") + json.dumps(key) + ':"').encode("utf-8")
    prefix = f"data:{upload.mime};base64,".encode("ascii")
    return StreamedBody([opening + prefix, ("base64", upload), b'"}'])


def multipart_form(fields: dict[str, str], file_field: str, upload: Upload) -> StreamedBody:
    """A multipart/form-data body; `content_type(body)` gives its header."""
    boundary = f"----leguas{uuid.uuid4().hex}"
    parts: list[bytes | tuple[str, Upload]] = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{upload.filename}"\r\nContent-Type: {upload.mime}\r\n\r\n'.encode()
    )
    parts.extend([("raw", upload), f"\r\n--{boundary}--\r\n".encode()])
    body = StreamedBody(parts)
    body.boundary = boundary  # type: ignore[attr-defined]
    return body


class _Reader:
    """Reads a JSON answer from an iterator of chunks with a small look-ahead buffer."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = iter(chunks)
        self.buffer = b""
        self.pos = 0

    def _fill(self) -> bool:
        for chunk in self.chunks:
            if chunk:
                self.buffer = self.buffer[self.pos :] + chunk
                self.pos = 0
                return True
        return False

    def peek(self) -> int | None:
        while self.pos >= len(self.buffer):
            if not self._fill():
                return None
        return self.buffer[self.pos]

    def take(self) -> int:
        byte = self.peek()
        if byte is None:
            raise _fail("it ended early")
        self.pos += 1
        return byte

    def skip_space(self) -> int:
        while (byte := self.peek()) is not None and byte in b" \t\r\n":
            self.pos += 1
        return self.take()

    def short_string(self, limit: int = 10_000) -> Any:
        """A JSON string after its opening quote (consumed up to the closing one), decoded."""
        out = bytearray(b'"')
        while (byte := self.take()) != ord('"'):
            out.append(byte)
            if byte == 0x5C:  # a backslash: the next byte is escaped
                out.append(self.take())
            if len(out) > limit:
                raise _fail("a value is too long")
        return json.loads(bytes(out) + b'"')

    def scalar(self, first: int) -> Any:
        """A number, true, false or null starting with `first` (anything nested is refused)."""
        out = bytearray([first])
        while (byte := self.peek()) is not None and byte not in b",} \t\r\n":
            out.append(self.take())
            if len(out) > 100:
                raise _fail("a value is too long")
        try:
            return json.loads(bytes(out))
        except ValueError:
            raise _fail("a value is not JSON") from None

    def raw_string(self) -> Iterator[bytes]:
        """A long string's text after its opening quote, in pieces (for base64: no escapes but
        `\\/`); consumes the closing quote."""
        while True:
            if self.pos >= len(self.buffer) and not self._fill():
                raise _fail("it ended early")
            end = self.buffer.find(b'"', self.pos)
            stop = len(self.buffer) if end == -1 else end
            piece = self.buffer[self.pos : stop]
            self.pos = stop if end == -1 else end + 1
            yield piece
            if end != -1:
                return


def _fail(what: str) -> ProtocolError:
    return ProtocolError(f"unexpected answer from download-media: {what}", route="download-media")


def _stream_base64(reader: _Reader, sink: IO[bytes], max_bytes: int) -> int:
    written = 0
    pending = b""
    for piece in reader.raw_string():
        pending += piece
        keep = b""
        if pending.endswith(b"\\"):  # an escape cut in two by the chunking
            pending, keep = pending[:-1], b"\\"
        pending = pending.replace(b"\\/", b"/")
        usable = len(pending) - len(pending) % 4
        if usable:
            try:
                data = base64.b64decode(pending[:usable], validate=True)
            except ValueError:
                raise _fail("the file is not base64") from None
            written += len(data)
            if written > max_bytes:
                raise _fail(f"the file is larger than {max_bytes} bytes")
            sink.write(data)
        pending = pending[usable:] + keep
    if pending:
        raise _fail("the base64 text is cut short")
    return written


def read_base64_answer(chunks: Iterator[bytes], sink: IO[bytes], max_bytes: int) -> str:
    """Decode `{"base64": "…", "mimetype": "…", …}` into `sink`; returns the mimetype."""
    reader = _Reader(chunks)
    if reader.skip_space() != ord("{"):
        raise _fail("not a JSON object")
    found: dict[str, Any] = {}
    written = -1
    while True:
        if reader.skip_space() != ord('"'):
            raise _fail("a key is not a string")
        key = reader.short_string(200)
        if reader.skip_space() != ord(":"):
            raise _fail("no colon after a key")
        first = reader.skip_space()
        if key == "base64" and first == ord('"'):
            written = _stream_base64(reader, sink, max_bytes)
        elif first == ord('"'):
            found[key] = reader.short_string()
        else:
            found[key] = reader.scalar(first)
        separator = reader.skip_space()
        if separator == ord("}"):
            break
        if separator != ord(","):
            raise _fail("no comma between values")
    mimetype = found.get("mimetype")
    if written < 0 or not isinstance(mimetype, str):
        raise _fail("no base64 or no mimetype")
    return mimetype
