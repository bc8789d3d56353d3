"""Checks shared by the quiz tests: what a PNG says about itself, and whether a payload gives a
quiz's answer away."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

from imagine_med.teaching.quiz_choices import finding_words

PROMPT = "PA chest x-ray, right upper lobe consolidation --seed 7 --size 256"
ANSWER = "consolidation"
# What would give the case away besides the finding's own words: its place as the key says it
WHERE = ("right upper lobe", "(right, rul)")


def png_text(data: bytes) -> list[str]:
    """Every tEXt, zTXt and iTXt chunk of a PNG, decoded (read from the bytes, not by PIL)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            out.append(body.decode("latin-1"))
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out.append(key.decode("latin-1") + "\0" + zlib.decompress(rest[1:]).decode(
                "latin-1"))
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")  # language tag
            _, _, text = rest.partition(b"\0")  # translated keyword
            out.append(key.decode() + "\0" + (zlib.decompress(text) if compressed else text)
                       .decode("utf-8"))
        pos += 12 + length
    return out


def leak_words(answer: str = ANSWER) -> set[str]:
    return {w.lower() for w in finding_words([answer])} | set(WHERE)


def leaks(text: str, words: set[str]) -> list[str]:
    low = text.lower()
    return sorted(w for w in words if w in low)


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
