"""SMS PDU codec (3GPP TS 23.040 and TS 23.038), as used by AT+CMGS/AT+CMGR/AT+CMGL in PDU mode
(TS 27.005).

- SMS-DELIVER: decode (what the modem stores for the bridge to read) and encode (what the modem
  simulator stores when a test injects an inbound SMS).
- SMS-SUBMIT: encode (what the bridge sends) and decode (what the simulator records).
- GSM-7 with the extension table and UDH fill bits; UCS-2 as UTF-16 with surrogate pairs; 8-bit
  data; concatenation information elements 0x00 (8-bit reference) and 0x08 (16-bit reference);
  service centre timestamps with their time zone; international, national, unknown and
  alphanumeric addresses.

Every PDU here is hex text with the leading service-centre field (a lone "00" octet means "the
modem's default SMSC"), as AT commands carry it.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from conductor_bridge import gsm7

# Information element identifiers (TS 23.040 9.2.3.24).
IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08

# Characters per SMS (TS 23.040 9.2.3.16 and 9.2.3.24.1).
GSM7_SINGLE = 160
UCS2_SINGLE = 70  # UTF-16 code units
GSM7_PART = {IEI_CONCAT_8: 153, IEI_CONCAT_16: 152}
UCS2_PART = {IEI_CONCAT_8: 67, IEI_CONCAT_16: 66}
MAX_PARTS = 255

# Type-of-address values.
TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NATIONAL = 2
TON_NETWORK_SPECIFIC = 3
TON_SUBSCRIBER = 4
TON_ALPHANUMERIC = 5
TON_ABBREVIATED = 6
_TON_NAMES = {
    TON_UNKNOWN: "unknown",
    TON_INTERNATIONAL: "international",
    TON_NATIONAL: "national",
    TON_NETWORK_SPECIFIC: "network_specific",
    TON_SUBSCRIBER: "subscriber",
    TON_ALPHANUMERIC: "alphanumeric",
    TON_ABBREVIATED: "abbreviated",
    7: "reserved",
}
_BCD_DIGITS = "0123456789*#abc"


class PduError(ValueError):
    """A PDU that cannot be decoded (truncated, not hex, not the expected message type)."""


class EncodeError(ValueError):
    """A message that cannot be encoded (bad address, too long)."""


@dataclass(frozen=True)
class Concat:
    """A concatenated-SMS information element: part `sequence` (1-based) of `total`."""

    reference: int
    total: int
    sequence: int
    iei: int = IEI_CONCAT_8


@dataclass(frozen=True)
class Address:
    """An originating or destination address as carried in a PDU."""

    value: str  # "+15551234567" for international numbers, digits or a name otherwise
    ton: int
    npi: int

    @property
    def kind(self) -> str:
        return _TON_NAMES.get(self.ton, "unknown")


@dataclass(frozen=True)
class Deliver:
    """A decoded SMS-DELIVER."""

    sender: Address
    timestamp: datetime | None
    text: str
    encoding: str  # gsm7, ucs2, 8bit
    concat: Concat | None
    smsc: str | None = None
    pid: int = 0
    dcs: int = 0
    message_class: int | None = None
    user_data_header: bytes = b""
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Submit:
    """A decoded SMS-SUBMIT."""

    recipient: Address
    text: str
    encoding: str
    concat: Concat | None
    message_reference: int = 0
    status_report_requested: bool = False
    validity: int | None = None
    pid: int = 0
    dcs: int = 0
    user_data_header: bytes = b""


@dataclass(frozen=True)
class SubmitPdu:
    """One SMS-SUBMIT ready for AT+CMGS: `hex` includes the SMSC octet, `tpdu_length` is the
    number that goes in AT+CMGS=<length> (TPDU octets, SMSC field excluded)."""

    hex: str
    tpdu_length: int
    text: str
    concat: Concat | None


# --------------------------------------------------------------------------------------------
# Low-level readers and writers


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PduError(f"PDU truncated while reading {what} (need {n} octets at {self.pos})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def octet(self, what: str) -> int:
        return self.take(1, what)[0]

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


def _from_hex(pdu_hex: str) -> bytes:
    cleaned = "".join(pdu_hex.split())
    if len(cleaned) % 2:
        raise PduError(f"PDU has an odd number of hex digits ({len(cleaned)})")
    try:
        return binascii.unhexlify(cleaned)
    except (binascii.Error, ValueError):
        raise PduError("PDU is not valid hex") from None


def _swap_bcd_decode(data: bytes) -> str:
    """Semi-octet (swapped nibble) digits; 0xF is filler."""
    out = []
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 0x0F:
                continue
            out.append(_BCD_DIGITS[nibble])
    return "".join(out)


def _swap_bcd_encode(digits: str) -> bytes:
    nibbles = []
    for ch in digits:
        index = _BCD_DIGITS.find(ch.lower())
        if index < 0:
            raise EncodeError(f"address digit {ch!r} is not allowed (digits, *, #, a, b, c)")
        nibbles.append(index)
    if len(nibbles) % 2:
        nibbles.append(0x0F)
    return bytes(nibbles[i] | (nibbles[i + 1] << 4) for i in range(0, len(nibbles), 2))


def _read_address(reader: _Reader, what: str) -> Address:
    length = reader.octet(f"{what} length")  # useful semi-octets
    toa = reader.octet(f"{what} type")
    ton = (toa >> 4) & 0x07
    npi = toa & 0x0F
    data = reader.take((length + 1) // 2, what)
    if ton == TON_ALPHANUMERIC:
        septets = gsm7.unpack(data, (length * 4) // 7)
        return Address(gsm7.decode(septets).rstrip("@") or "", ton, npi)
    digits = _swap_bcd_decode(data)[:length]
    value = "+" + digits if ton == TON_INTERNATIONAL and digits else digits
    return Address(value, ton, npi)


def encode_address(value: str) -> bytes:
    """Address field (length, type, value) for a number ("+<digits>", "<digits>") or, for anything
    else, an alphanumeric GSM-7 name (at most 11 characters)."""
    if not value:
        raise EncodeError("address is empty")
    body = value[1:] if value.startswith("+") else value
    if body and all(ch.lower() in _BCD_DIGITS for ch in body):
        if len(body) > 20:
            raise EncodeError(f"address {value!r} has more than 20 digits")
        ton = TON_INTERNATIONAL if value.startswith("+") else TON_UNKNOWN
        toa = 0x80 | (ton << 4) | 0x01  # numbering plan: ISDN/E.164
        return bytes([len(body), toa]) + _swap_bcd_encode(body)
    if value.startswith("+"):
        raise EncodeError(f"address {value!r}: only digits may follow '+'")
    if len(value) > 11:
        raise EncodeError(f"alphanumeric address {value!r} is longer than 11 characters")
    try:
        septets = gsm7.encode(value)
    except gsm7.EncodeError as exc:
        raise EncodeError(f"alphanumeric address {value!r}: {exc}") from None
    packed = gsm7.pack(septets)
    semi_octets = (len(septets) * 7 + 3) // 4
    return bytes([semi_octets, 0x80 | (TON_ALPHANUMERIC << 4)]) + packed


def _read_smsc(reader: _Reader) -> str | None:
    length = reader.octet("SMSC length")
    if length == 0:
        return None
    data = reader.take(length, "SMSC address")
    toa = data[0]
    digits = _swap_bcd_decode(data[1:])
    return "+" + digits if (toa >> 4) & 0x07 == TON_INTERNATIONAL else digits


def _bcd_value(octet: int) -> int | None:
    low, high = octet & 0x0F, octet >> 4
    if low > 9 or high > 9:
        return None
    return low * 10 + high


def decode_timestamp(data: bytes) -> datetime | None:
    """Service centre time stamp (TS 23.040 9.2.3.11): 7 swapped semi-octets, the last one the
    time zone in quarter hours with the sign in bit 3. None when the fields are not a date."""
    if len(data) != 7:
        return None
    values = [_bcd_value(o) for o in data[:6]]
    if any(v is None for v in values):
        return None
    tz_octet = data[6]
    tens, units = tz_octet & 0x07, tz_octet >> 4
    if units > 9:
        return None
    quarters = tens * 10 + units
    if quarters > 56:  # +-14:00
        return None
    if tz_octet & 0x08:
        quarters = -quarters
    year, month, day, hour, minute, second = values
    try:
        return datetime(
            2000 + year, month, day, hour, minute, second, tzinfo=timezone(timedelta(minutes=15 * quarters))
        )
    except ValueError:
        return None


def encode_timestamp(when: datetime) -> bytes:
    """A datetime with a time zone -> 7-octet SCTS (seconds precision, quarter-hour zone)."""
    if when.tzinfo is None:
        raise EncodeError("timestamp needs a time zone")
    offset = when.utcoffset() or timedelta(0)
    quarters = int(offset.total_seconds() // 900)
    negative = quarters < 0
    quarters = abs(quarters)

    def swap(v: int) -> int:
        return (v % 10) << 4 | (v // 10)

    octets = [swap(when.year % 100), swap(when.month), swap(when.day)]
    octets += [swap(when.hour), swap(when.minute), swap(when.second)]
    tz = swap(quarters)
    if negative:
        tz |= 0x08
    return bytes(octets + [tz])


def _parse_dcs(dcs: int) -> tuple[str, int | None, bool]:
    """(alphabet, message class, compressed) for a data coding scheme (TS 23.038 section 4)."""
    group = dcs >> 4
    if group <= 0x7:  # 00xx and 01xx: general data coding (01xx: marked for automatic deletion)
        compressed = bool(dcs & 0x20)
        alphabet = {0: "gsm7", 1: "8bit", 2: "ucs2", 3: "gsm7"}[(dcs >> 2) & 0x03]
        message_class = dcs & 0x03 if dcs & 0x10 else None
        return alphabet, message_class, compressed
    if group in (0xC, 0xD):  # message waiting indication, GSM-7
        return "gsm7", None, False
    if group == 0xE:  # message waiting indication, UCS-2
        return "ucs2", None, False
    if group == 0xF:  # data coding / message class
        return ("8bit" if dcs & 0x04 else "gsm7"), dcs & 0x03, False
    return "gsm7", None, False  # reserved groups 1000..1011: treat as the default alphabet


def _parse_udh(header: bytes) -> Concat | None:
    """The concatenation element of a user data header, if any (the last one wins, as in 23.040)."""
    concat = None
    pos = 0
    while pos + 2 <= len(header):
        iei, length = header[pos], header[pos + 1]
        data = header[pos + 2 : pos + 2 + length]
        pos += 2 + length
        if len(data) < length:
            break
        if iei == IEI_CONCAT_8 and length == 3:
            ref, total, seq = data
        elif iei == IEI_CONCAT_16 and length == 4:
            ref, total, seq = (data[0] << 8) | data[1], data[2], data[3]
        else:
            continue
        # 23.040: an element with impossible values is ignored.
        concat = Concat(ref, total, seq, iei) if total >= 1 and 1 <= seq <= total else None
    return concat


def user_data_octets(udl: int, alphabet: str) -> int:
    """Octets of user data (header included) that a user data length announces: UDL counts
    septets in GSM-7, so ceil(UDL * 7 / 8) octets; octets otherwise (TS 23.040 9.2.3.16)."""
    return (udl * 7 + 7) // 8 if alphabet == "gsm7" else udl


def _decode_user_data(reader: _Reader, udhi: bool, dcs: int, udl: int) -> tuple[str, str, bytes, int | None]:
    alphabet, message_class, compressed = _parse_dcs(dcs)
    septets_counted = alphabet == "gsm7" and not compressed
    limit = 160 if septets_counted else 140
    if udl > limit:
        raise PduError(f"user data length {udl} exceeds {limit} {'septets' if septets_counted else 'octets'}")
    # Fewer octets than the length announces is a cut PDU, never a shorter text.
    data = reader.take(user_data_octets(udl, "gsm7" if septets_counted else alphabet), "user data")
    header = b""
    header_octets = 0
    if udhi:
        if not data:
            raise PduError("user data header indicated but user data is empty")
        udhl = data[0]
        header = data[1 : 1 + udhl]
        if len(header) < udhl:
            raise PduError("user data header truncated")
        header_octets = udhl + 1
    if compressed:
        return "[compressed SMS, not supported] " + data.hex().upper(), "compressed", header, message_class
    if alphabet == "gsm7":
        header_bits = header_octets * 8
        header_septets = (header_bits + 6) // 7
        if header_septets > udl:
            raise PduError(f"user data header of {header_octets} octets is longer than the user data")
        fill = header_septets * 7 - header_bits
        septets = gsm7.unpack(data[header_octets:], udl - header_septets, fill)
        return gsm7.decode(septets), "gsm7", header, message_class
    payload = data[header_octets:]
    if alphabet == "ucs2":
        if len(payload) % 2:
            payload = payload[:-1]
        # surrogatepass keeps a pair split across two parts; join_texts() repairs it.
        return payload.decode("utf-16-be", errors="surrogatepass"), "ucs2", header, message_class
    return "[8-bit data] " + payload.hex().upper(), "8bit", header, message_class


# --------------------------------------------------------------------------------------------
# SMS-DELIVER


def _check_length(reader: _Reader, length: int | None) -> None:
    """After the SMSC field: the TPDU must have exactly `length` octets (when given)."""
    if length is None:
        return
    actual = len(reader.data) - reader.pos
    if actual != length:
        raise PduError(f"PDU has {actual} TPDU octets where the modem announced {length}")


def decode_deliver(pdu_hex: str, has_smsc: bool = True, length: int | None = None) -> Deliver:
    """Decode an SMS-DELIVER as AT+CMGR/AT+CMGL return it (with the SMSC field). `length`
    is the <length> of the +CMGR/+CMGL/+CMT header (TPDU octets, SMSC field not counted): a PDU
    of another length, or with fewer user data octets than its user data length announces, is
    a cut PDU and raises PduError, so a prefix of a text is never taken for the text."""
    raw = _from_hex(pdu_hex)
    reader = _Reader(raw)
    smsc = _read_smsc(reader) if has_smsc else None
    _check_length(reader, length)
    first = reader.octet("first octet")
    mti = first & 0x03
    if mti != 0:
        raise PduError(f"not an SMS-DELIVER (message type indicator {mti})")
    udhi = bool(first & 0x40)
    sender = _read_address(reader, "originating address")
    pid = reader.octet("protocol identifier")
    dcs = reader.octet("data coding scheme")
    timestamp = decode_timestamp(reader.take(7, "service centre timestamp"))
    udl = reader.octet("user data length")
    text, encoding, header, message_class = _decode_user_data(reader, udhi, dcs, udl)
    return Deliver(
        sender=sender,
        timestamp=timestamp,
        text=text,
        encoding=encoding,
        concat=_parse_udh(header) if header else None,
        smsc=smsc,
        pid=pid,
        dcs=dcs,
        message_class=message_class,
        user_data_header=header,
        raw=raw,
    )


def pdu_type(pdu_hex: str, has_smsc: bool = True, length: int | None = None) -> int:
    """The message type indicator of a PDU: 0 deliver, 1 submit, 2 status report. With
    `length` (TPDU octets, as +CMGL/+CMGR announce them), a PDU of another TPDU length raises PduError."""
    raw = _from_hex(pdu_hex)
    reader = _Reader(raw)
    if has_smsc:
        _read_smsc(reader)
    _check_length(reader, length)
    return reader.octet("first octet") & 0x03


# --------------------------------------------------------------------------------------------
# Encoding user data


def choose_encoding(text: str) -> str:
    """gsm7 when every character is in the default alphabet or its extension, else ucs2."""
    return "gsm7" if gsm7.is_encodable(text) else "ucs2"


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def split_text(text: str, encoding: str | None = None, iei: int = IEI_CONCAT_8) -> tuple[str, list[str]]:
    """Split a text into the pieces that fit one SMS each: (encoding, pieces). A single SMS holds
    160 septets / 70 UTF-16 units; parts of a concatenated SMS 153/67 (8-bit reference) or
    152/66 (16-bit). An escape pair or a surrogate pair is never split."""
    encoding = encoding or choose_encoding(text)
    if encoding == "gsm7":

        def cost(ch: str) -> int:
            n = gsm7.char_septets(ch)
            if n is None:
                raise EncodeError(f"character {ch!r} is not in the GSM 7-bit alphabet")
            return n

        single, per_part = GSM7_SINGLE, GSM7_PART[iei]
    elif encoding == "ucs2":
        cost = _utf16_units
        single, per_part = UCS2_SINGLE, UCS2_PART[iei]
    else:
        raise EncodeError(f"unknown encoding {encoding!r}")
    if sum(cost(ch) for ch in text) <= single:
        return encoding, [text]
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        c = cost(ch)
        if used + c > per_part:
            pieces.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += c
    if current:
        pieces.append("".join(current))
    if len(pieces) > MAX_PARTS:
        raise EncodeError(f"text needs {len(pieces)} parts; at most {MAX_PARTS} are possible")
    return encoding, pieces


def _concat_header(concat: Concat) -> bytes:
    if concat.iei == IEI_CONCAT_8:
        return bytes([IEI_CONCAT_8, 3, concat.reference & 0xFF, concat.total, concat.sequence])
    return bytes(
        [
            IEI_CONCAT_16,
            4,
            (concat.reference >> 8) & 0xFF,
            concat.reference & 0xFF,
            concat.total,
            concat.sequence,
        ]
    )


def _encode_user_data(text: str, encoding: str, concat: Concat | None) -> tuple[int, bytes]:
    """(UDL, UD) for a piece of text, with the concatenation header when given."""
    header = b""
    if concat is not None:
        ie = _concat_header(concat)
        header = bytes([len(ie)]) + ie
    if encoding == "gsm7":
        septets = gsm7.encode(text)
        header_bits = len(header) * 8
        header_septets = (header_bits + 6) // 7
        fill = header_septets * 7 - header_bits
        udl = header_septets + len(septets)
        if udl > 160:
            raise EncodeError(f"user data of {udl} septets exceeds 160")
        return udl, header + gsm7.pack(septets, fill)
    if encoding == "ucs2":
        body = text.encode("utf-16-be", errors="surrogatepass")
        ud = header + body
        if len(ud) > 140:
            raise EncodeError(f"user data of {len(ud)} octets exceeds 140")
        return len(ud), ud
    raise EncodeError(f"unknown encoding {encoding!r}")


def _dcs_for(encoding: str) -> int:
    return {"gsm7": 0x00, "ucs2": 0x08}[encoding]


# --------------------------------------------------------------------------------------------
# SMS-SUBMIT


def encode_submit(
    recipient: str,
    text: str,
    *,
    reference: int = 0,
    iei: int = IEI_CONCAT_8,
    validity: int | None = 167,
    status_report: bool = False,
    encoding: str | None = None,
) -> list[SubmitPdu]:
    """Encode a text as one or more SMS-SUBMIT PDUs (concatenated when it does not fit one SMS).
    `reference` is the concatenation reference shared by the parts (8 or 16 bits per `iei`);
    `validity` is the relative validity period octet (167 = 24 hours; None = no validity)."""
    if not text:
        raise EncodeError("content is empty")
    da = encode_address(recipient)
    encoding, pieces = split_text(text, encoding, iei)
    first = 0x01  # SMS-SUBMIT
    if validity is not None:
        if not 0 <= validity <= 255:
            raise EncodeError("validity must be 0..255")
        first |= 0x10  # relative validity period
    if status_report:
        first |= 0x20
    total = len(pieces)
    if total > 1:
        first |= 0x40  # user data header present
    out = []
    for seq, piece in enumerate(pieces, start=1):
        concat = (
            Concat(reference & (0xFF if iei == IEI_CONCAT_8 else 0xFFFF), total, seq, iei)
            if total > 1
            else None
        )
        udl, ud = _encode_user_data(piece, encoding, concat)
        tpdu = bytes([first, 0x00]) + da + bytes([0x00, _dcs_for(encoding)])
        if validity is not None:
            tpdu += bytes([validity])
        tpdu += bytes([udl]) + ud
        out.append(SubmitPdu(hex="00" + tpdu.hex().upper(), tpdu_length=len(tpdu), text=piece, concat=concat))
    return out


def decode_submit(pdu_hex: str, has_smsc: bool = True) -> Submit:
    """Decode an SMS-SUBMIT (what a modem receives after AT+CMGS)."""
    reader = _Reader(_from_hex(pdu_hex))
    if has_smsc:
        _read_smsc(reader)
    first = reader.octet("first octet")
    mti = first & 0x03
    if mti != 1:
        raise PduError(f"not an SMS-SUBMIT (message type indicator {mti})")
    udhi = bool(first & 0x40)
    vpf = (first >> 3) & 0x03
    mr = reader.octet("message reference")
    recipient = _read_address(reader, "destination address")
    pid = reader.octet("protocol identifier")
    dcs = reader.octet("data coding scheme")
    validity = None
    if vpf == 2:
        validity = reader.octet("validity period")
    elif vpf in (1, 3):
        reader.take(7, "validity period")
    udl = reader.octet("user data length")
    text, encoding, header, _ = _decode_user_data(reader, udhi, dcs, udl)
    return Submit(
        recipient=recipient,
        text=text,
        encoding=encoding,
        concat=_parse_udh(header) if header else None,
        message_reference=mr,
        status_report_requested=bool(first & 0x20),
        validity=validity,
        pid=pid,
        dcs=dcs,
        user_data_header=header,
    )


def encode_deliver(
    sender: str,
    text: str,
    timestamp: datetime,
    *,
    reference: int | None = None,
    iei: int = IEI_CONCAT_8,
    encoding: str | None = None,
    smsc: str | None = "+15550000000",
    pieces: list[str] | None = None,
) -> list[str]:
    """Encode a text as SMS-DELIVER PDUs, the way a network would deliver it to the modem
    (concatenated when long; `reference` is then the concatenation reference). `pieces` gives
    the part texts explicitly, as a phone that splits differently would send them (UCS-2 pieces
    may then end or start with half a surrogate pair)."""
    oa = encode_address(sender)
    if pieces is None:
        encoding, pieces = split_text(text, encoding, iei)
    else:
        encoding = encoding or ("gsm7" if all(gsm7.is_encodable(p) for p in pieces) else "ucs2")
    total = len(pieces)
    first = 0x04  # SMS-DELIVER, no more messages to send
    if total > 1:
        first |= 0x40
        if reference is None:
            reference = 0
    if smsc:
        smsc_digits = smsc.lstrip("+")
        smsc_field = bytes([0x91]) + _swap_bcd_encode(smsc_digits)
        smsc_bytes = bytes([len(smsc_field)]) + smsc_field
    else:
        smsc_bytes = b"\x00"
    out = []
    for seq, piece in enumerate(pieces, start=1):
        concat = (
            Concat(reference & (0xFF if iei == IEI_CONCAT_8 else 0xFFFF), total, seq, iei)
            if total > 1
            else None
        )
        udl, ud = _encode_user_data(piece, encoding, concat)
        tpdu = bytes([first]) + oa + bytes([0x00, _dcs_for(encoding)]) + encode_timestamp(timestamp)
        tpdu += bytes([udl]) + ud
        out.append((smsc_bytes + tpdu).hex().upper())
    return out


def tpdu_length(pdu_hex: str) -> int:
    """TPDU octets of a PDU that starts with the SMSC field (the AT+CMGS / +CMGL length)."""
    raw = _from_hex(pdu_hex)
    if not raw:
        raise PduError("empty PDU")
    return len(raw) - 1 - raw[0]


def join_texts(pieces: list[str]) -> str:
    """Join the texts of consecutive parts. A surrogate pair split across two UCS-2 parts (some
    phones do that) becomes one character again; a lone surrogate left over becomes U+FFFD, so
    the result is always valid Unicode (storable as UTF-8)."""
    joined = "".join(pieces)
    return joined.encode("utf-16-le", errors="surrogatepass").decode("utf-16-le", errors="replace")
