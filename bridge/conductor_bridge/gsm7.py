"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 section 6.2.1), and
septet packing (TS 23.038 section 6.1.2.1.1, TS 23.040 section 9.2.3.24 for the fill bits that
follow a user data header).

Pure functions, no I/O. Texts are Python strings; septets are lists of ints 0..127.
"""

from __future__ import annotations

ESCAPE = 0x1B

# The default alphabet, code point -> character. 0x1B is the escape to the extension table.
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(BASIC) == 128

# The extension table (after ESC): code -> character. 0x0D (CR2) and 0x1B (SS2) are reserved.
EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_BASIC_REVERSE = {ch: code for code, ch in enumerate(BASIC) if code != ESCAPE}
_EXTENSION_REVERSE = {ch: code for code, ch in EXTENSION.items()}


class EncodeError(ValueError):
    """A character has no GSM-7 representation."""


def char_septets(ch: str) -> int | None:
    """How many septets one character costs in GSM-7: 1, 2 (extension table), or None."""
    if ch in _BASIC_REVERSE:
        return 1
    if ch in _EXTENSION_REVERSE:
        return 2
    return None


def is_encodable(text: str) -> bool:
    """True when every character of text is in the default alphabet or its extension table."""
    return all(ch in _BASIC_REVERSE or ch in _EXTENSION_REVERSE for ch in text)


def encode(text: str) -> list[int]:
    """Text -> septets (extension characters become ESC + code)."""
    out: list[int] = []
    for position, ch in enumerate(text):
        code = _BASIC_REVERSE.get(ch)
        if code is not None:
            out.append(code)
            continue
        code = _EXTENSION_REVERSE.get(ch)
        if code is None:
            raise EncodeError(f"character {ch!r} at position {position} is not in the GSM 7-bit alphabet")
        out.extend((ESCAPE, code))
    return out


def decode(septets: list[int] | bytes) -> str:
    """Septets -> text. An escape followed by an undefined code shows the basic character
    (TS 23.038: "the character of the default alphabet"); a trailing lone escape is dropped."""
    out: list[str] = []
    escaped = False
    for septet in septets:
        septet &= 0x7F
        if escaped:
            escaped = False
            if septet in EXTENSION:
                out.append(EXTENSION[septet])
            elif septet == ESCAPE:
                out.append(" ")  # ESC ESC is reserved: a space keeps the text readable
            else:
                out.append(BASIC[septet])
        elif septet == ESCAPE:
            escaped = True
        else:
            out.append(BASIC[septet])
    return "".join(out)


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets into octets, least significant bit first, after `fill_bits` zero bits."""
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be 0..6")
    total_bits = fill_bits + 7 * len(septets)
    value = 0
    for i, septet in enumerate(septets):
        if not 0 <= septet <= 0x7F:
            raise ValueError(f"septet {septet} out of range")
        value |= septet << (fill_bits + 7 * i)
    return value.to_bytes((total_bits + 7) // 8, "little")


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """Unpack `count` septets from octets, skipping `fill_bits` leading bits. Septets beyond the
    available bits (a truncated PDU) are not returned."""
    value = int.from_bytes(data, "little")
    available = (len(data) * 8 - fill_bits) // 7
    count = min(count, max(available, 0))
    return [(value >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]
