"""Small files with real magic numbers (the product reads types from bytes)."""

from __future__ import annotations

import base64
import os

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(2000)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + os.urandom(500)
PDF = b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF\n"
OGG = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01\x13OpusHead" + os.urandom(800)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(1500)
MP3 = b"ID3\x03\x00" + os.urandom(900)
EXE = b"MZ" + os.urandom(500)
TEXT = "Ordem de serviço 42\nEntregue às 14h\n".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
