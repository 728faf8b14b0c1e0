"""The PDU codec against vectors from the specifications and a widely used independent decoder
(smspdudecoder), and by round trips: GSM-7 with the extension table and UDH fill bits, UCS-2
with surrogate pairs, concatenation (8- and 16-bit references), timestamps, addresses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from smspdudecoder.easy import read_incoming_sms, read_outgoing_sms

from conductor_bridge import gsm7, pdu

TZ_MINUS_5 = timezone(timedelta(hours=-5))
WHEN = datetime(2026, 3, 5, 14, 7, 9, tzinfo=TZ_MINUS_5)

TEXTS = [
    "Hi! Your order is ready.",
    "Extension table: [braces] {curly} ~tilde~ ^caret^ |pipe| back\\slash €uro \f",
    "Accents in the default alphabet: àèéìòù ÄÖÑÜ äöñü ß Ç ¿¡ £¥§ ΔΦΓΛΩΠΨΣΘΞ",
    "Emoji 😀🎉👍🏽 and CJK 漢字 and a flag 🇺🇸",
    "x" * 160,  # exactly one GSM-7 SMS
    "x" * 161,  # two parts
    "€" * 80,  # 160 septets: one SMS
    "€" * 81,  # 162 septets: two parts
    "é" * 70,  # é is in the default alphabet: one GSM-7 SMS
    "ł" * 70,  # not GSM-7: exactly one UCS-2 SMS
    "ł" * 71,  # two UCS-2 parts
    "😀" * 35,  # 70 UTF-16 units: one UCS-2 SMS
    "😀" * 36,  # 72 units: two parts, pairs never split
    "Long reply with {ext} chars. " * 30,
    "Long emoji reply 🌿 " * 40,
]


def _oracle_text(content: str, text: str, header_septets: int) -> str:
    # smspdudecoder ignores the user data length and reads 7 spare bits of a full final octet as
    # one more '@' (septet 0); the length field says there is none.
    if content == text + "@" and (header_septets + len(gsm7.encode(text))) % 8 == 7:
        return text
    return content


def _header_septets(concat) -> int:
    return 0 if concat is None else (7 if concat.iei == pdu.IEI_CONCAT_8 else 8)


# -- spec and reference vectors --------------------------------------------------------------


def test_decodes_the_classic_deliver_vector():
    # SMS-DELIVER from 23.040-style documentation: "How are you?" from +31641600986.
    message = pdu.decode_deliver(
        "07911326040000F0040B911346610089F60000208062917314480CC8F71D14969741F977FD07"
    )
    assert message.smsc == "+31624000000"
    assert message.sender.value == "+31641600986"
    assert message.sender.kind == "international"
    assert message.text == "How are you?"
    assert message.encoding == "gsm7"
    assert message.concat is None
    # 02-08-26 19:37:41, time zone octet 0x48: sign bit set, 4 quarters -> UTC-1.
    assert message.timestamp == datetime(2002, 8, 26, 19, 37, 41, tzinfo=timezone(timedelta(hours=-1)))


def test_septet_packing_matches_the_spec_example():
    # 23.038 6.1.2.1.1: "hellohello" packs to E8329BFD4697D9EC37.
    assert gsm7.pack(gsm7.encode("hellohello")).hex().upper() == "E8329BFD4697D9EC37"
    assert gsm7.decode(gsm7.unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10)) == "hellohello"


def test_encodes_the_classic_submit_vector():
    # "hellohello" to +46708251358 with relative validity 0xAA.
    [part] = pdu.encode_submit("+46708251358", "hellohello", validity=0xAA)
    assert part.hex == "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    assert part.tpdu_length == 23


def test_extension_characters_cost_two_septets_and_escape():
    assert gsm7.encode("€") == [0x1B, 0x65]
    assert gsm7.encode("[]{}") == [0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29]
    assert gsm7.decode([0x1B, 0x65, 0x41]) == "€A"
    # An undefined extension code shows the basic character (23.038), a trailing ESC is dropped.
    assert gsm7.decode([0x1B, 0x41, 0x1B]) == "A"


def test_unencodable_character_is_a_clear_error():
    with pytest.raises(gsm7.EncodeError, match="position 2"):
        gsm7.encode("ab😀")


@pytest.mark.parametrize(
    ("tz", "octet"),
    [(timedelta(hours=-5), 0x0A), (timedelta(hours=5, minutes=30), 0x22), (timedelta(0), 0x00)],
)
def test_timestamp_time_zone_round_trip(tz, octet):
    when = datetime(2026, 12, 31, 23, 59, 58, tzinfo=timezone(tz))
    raw = pdu.encode_timestamp(when)
    assert raw[6] == octet
    assert pdu.decode_timestamp(raw) == when


def test_invalid_timestamp_decodes_to_none():
    assert pdu.decode_timestamp(bytes.fromhex("FFFFFFFFFFFFFF")) is None
    assert pdu.decode_timestamp(bytes.fromhex("62314000000000")) is None  # month 13


# -- against the independent decoder -------------------------------------------------------------


@pytest.mark.parametrize("text", TEXTS)
def test_submit_parts_decode_with_the_independent_decoder(text):
    parts = pdu.encode_submit("+15551234567", text, reference=0x42)
    decoded = [read_outgoing_sms(part.hex) for part in parts]
    assert all(d["recipient"] == "+15551234567" for d in decoded)
    joined = "".join(
        _oracle_text(d["content"], part.text, _header_septets(part.concat))
        for d, part in zip(decoded, parts, strict=True)
    )
    assert joined == text
    for part in parts:
        assert part.tpdu_length == len(bytes.fromhex(part.hex)) - 1


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("iei", [pdu.IEI_CONCAT_8, pdu.IEI_CONCAT_16])
def test_deliver_parts_decode_with_the_independent_decoder(text, iei):
    pdus = pdu.encode_deliver("+15551234567", text, WHEN, reference=300 if iei else 200, iei=iei)
    decoded = [read_incoming_sms(p) for p in pdus]
    mine = [pdu.decode_deliver(p) for p in pdus]
    assert all(d["sender"] == "+15551234567" for d in decoded)
    assert all(d["date"] == WHEN for d in decoded)
    joined = "".join(
        _oracle_text(d["content"], m.text, _header_septets(m.concat))
        for d, m in zip(decoded, mine, strict=True)
    )
    assert joined == text
    if len(pdus) > 1:
        for number, d in enumerate(decoded, start=1):
            assert d["partial"]["part_number"] == number
            assert d["partial"]["parts_count"] == len(pdus)
            assert d["partial"]["reference"] == f"{300 if iei else 200}-{len(pdus)}"


@pytest.mark.parametrize("text", TEXTS)
def test_our_decoder_reads_what_we_encode(text):
    pdus = pdu.encode_deliver("+15551234567", text, WHEN, reference=7)
    mine = [pdu.decode_deliver(p) for p in pdus]
    assert pdu.join_texts([m.text for m in mine]) == text
    assert all(m.timestamp == WHEN for m in mine)
    if len(pdus) > 1:
        assert [m.concat.sequence for m in mine] == list(range(1, len(pdus) + 1))
        assert {m.concat.total for m in mine} == {len(pdus)}
        assert {m.concat.reference for m in mine} == {7}
    submits = [pdu.decode_submit(s.hex) for s in pdu.encode_submit("+15551234567", text, reference=9)]
    assert pdu.join_texts([s.text for s in submits]) == text


# -- splitting ----------------------------------------------------------------------------------------


def test_part_sizes_153_and_67():
    encoding, pieces = pdu.split_text("a" * 400)
    assert encoding == "gsm7"
    assert [len(p) for p in pieces] == [153, 153, 94]
    encoding, pieces = pdu.split_text("ł" * 200)
    assert encoding == "ucs2"
    assert [len(p) for p in pieces] == [67, 67, 66]
    _, pieces = pdu.split_text("a" * 400, iei=pdu.IEI_CONCAT_16)
    assert [len(p) for p in pieces] == [152, 152, 96]


def test_never_splits_an_escape_pair():
    text = "a" * 152 + "€" + "b" * 10  # the euro would straddle septets 153/154
    _, pieces = pdu.split_text(text)
    assert pieces[0] == "a" * 152
    assert pieces[1].startswith("€")
    for part in pdu.encode_submit("+15551234567", text):
        assert len(gsm7.encode(part.text)) <= 153


def test_never_splits_a_surrogate_pair():
    text = "ł" * 66 + "😀" + "ł" * 10  # the emoji would straddle units 67/68
    _, pieces = pdu.split_text(text)
    assert pieces[0] == "ł" * 66
    assert pieces[1].startswith("😀")
    for part in pdu.encode_submit("+15551234567", text):
        assert len(part.text.encode("utf-16-be")) <= 134


def test_gsm7_udh_fill_bits():
    # UDH of 6 octets = 48 bits -> 7 septets with 1 fill bit; UDL counts the header septets.
    [first, *_] = pdu.encode_submit("+15551234567", "A" * 200, reference=1)
    raw = bytes.fromhex(first.hex)
    udl_at = 1 + 1 + 1 + 1 + 1 + 6 + 1 + 1 + 1  # smsc, fo, mr, da len, toa, 6 digit octets, pid, dcs, vp
    assert raw[udl_at] == 7 + 153
    assert raw[udl_at + 1 : udl_at + 7] == bytes([5, 0, 3, 1, 2, 1])
    # 'A' (0x41) shifted by one fill bit starts the text.
    assert raw[udl_at + 7] & 0x7F == (0x41 << 1) & 0x7F


def test_joining_repairs_a_surrogate_pair_split_by_the_sender():
    # Some phones split an emoji between two UCS-2 parts; each part alone holds half a pair.
    units = "😀".encode("utf-16-be")
    first = ("ab".encode("utf-16-be") + units[:2]).decode("utf-16-be", errors="surrogatepass")
    second = (units[2:] + "cd".encode("utf-16-be")).decode("utf-16-be", errors="surrogatepass")
    assert pdu.join_texts([first, second]) == "ab😀cd"
    assert pdu.join_texts([first]) == "ab\ufffd"  # a lone half becomes U+FFFD, never invalid UTF-8


def test_too_many_parts_is_refused():
    with pytest.raises(pdu.EncodeError, match="at most 255"):
        pdu.encode_submit("+15551234567", "x" * (153 * 255 + 1))


# -- addresses ----------------------------------------------------------------------------------------------


def test_address_kinds():
    national = pdu.decode_deliver(pdu.encode_deliver("5551234", "hi", WHEN)[0])
    assert national.sender.value == "5551234"
    assert national.sender.kind == "unknown"
    alpha = pdu.decode_deliver(pdu.encode_deliver("MyCarrier", "hi", WHEN)[0])
    assert alpha.sender.value == "MyCarrier"
    assert alpha.sender.kind == "alphanumeric"
    assert read_incoming_sms(pdu.encode_deliver("MyCarrier", "hi", WHEN)[0])["sender"] == "MyCarrier"


def test_national_type_of_number_is_kept_without_plus():
    # Originating address with TON national (0xA1): 10 digits, no '+'.
    body = "040AA15155123456" + "0000" + pdu.encode_timestamp(WHEN).hex() + "02E834"
    message = pdu.decode_deliver("00" + body)
    assert message.sender.value == "1555214365"
    assert message.sender.kind == "national"
    assert message.text == "hi"


def test_bad_addresses_are_clear_errors():
    with pytest.raises(pdu.EncodeError, match="only digits"):
        pdu.encode_submit("+1555abcZ", "hi")
    with pytest.raises(pdu.EncodeError, match="longer than 11"):
        pdu.encode_address("ThisNameIsTooLong")
    with pytest.raises(pdu.EncodeError, match="empty"):
        pdu.encode_submit("", "hi")


# -- coding schemes and robustness -----------------------------------------------------------------


def test_ucs2_emoji_is_valid_unicode_for_the_database():
    message = pdu.decode_deliver(pdu.encode_deliver("+15551234567", "ok 👍", WHEN)[0])
    assert message.encoding == "ucs2"
    assert message.text == "ok 👍"
    message.text.encode("utf-8")  # never lone surrogates


def test_eight_bit_data_is_kept_as_hex():
    body = "040B915155214365F7" + "0004" + pdu.encode_timestamp(WHEN).hex() + "03010203"
    message = pdu.decode_deliver("00" + body)
    assert message.encoding == "8bit"
    assert message.text == "[8-bit data] 010203"


def test_message_class_and_waiting_groups_decode():
    # DCS 0xF0: class 0 (flash), GSM-7.
    body = "040B915155214365F7" + "00F0" + pdu.encode_timestamp(WHEN).hex() + "02E834"
    message = pdu.decode_deliver("00" + body)
    assert message.text == "hi"
    assert message.message_class == 0


@pytest.mark.parametrize(
    "bad",
    ["", "00", "0004", "ZZ", "07911326040000F0040B911346610089F60000208062", "07911326040000F0"],
)
def test_truncated_or_garbage_pdus_raise_pdu_error(bad):
    with pytest.raises(pdu.PduError):
        pdu.decode_deliver(bad)


def test_a_submit_is_not_a_deliver():
    submit = pdu.encode_submit("+15551234567", "hi")[0].hex
    with pytest.raises(pdu.PduError, match="not an SMS-DELIVER"):
        pdu.decode_deliver(submit)
    assert pdu.pdu_type(submit) == 1


# -- cut PDUs: never a shorter text ---------------------------------------------------------------


def _deliver_8bit(user_data: str, udl: int, udhi: bool = False) -> str:
    """An 8-bit SMS-DELIVER built field by field, with the user data and its length as given."""
    first = "44" if udhi else "04"
    scts = pdu.encode_timestamp(WHEN).hex().upper()
    return f"00{first}0B915155214365F70004{scts}{udl:02X}{user_data}"


CUT_CASES = {
    "gsm7": (pdu.encode_deliver("+15551234567", "Is the store open on Sunday?", WHEN)[0], None),
    "gsm7 with header": (pdu.encode_deliver("+15551234567", "Sunday? " * 30, WHEN, reference=9)[0], 9),
    "ucs2": (pdu.encode_deliver("+15551234567", "Open on Sunday? 🌿", WHEN)[0], None),
    "ucs2 with header": (pdu.encode_deliver("+15551234567", "Sunday 🌿 " * 12, WHEN, reference=9)[0], 9),
    "8bit": (_deliver_8bit("DEADBEEF01", 5), None),
    "8bit with header": (_deliver_8bit("050003090201DEADBEEF", 10, udhi=True), 9),
}


@pytest.mark.parametrize("case", list(CUT_CASES))
def test_user_data_shorter_than_its_length_is_an_error_not_a_shorter_text(case):
    whole, reference = CUT_CASES[case]
    message = pdu.decode_deliver(whole, length=pdu.tpdu_length(whole))
    assert message.encoding == case.split()[0]
    assert (message.concat.reference if message.concat else None) == reference
    assert message.text
    for octets in range(1, 5):
        cut = whole[: -2 * octets]
        # Also when the announced length agrees with the cut PDU (the header line was damaged too).
        for length in (None, pdu.tpdu_length(cut)):
            with pytest.raises(pdu.PduError, match="truncated while reading user data"):
                pdu.decode_deliver(cut, length=length)


def test_gsm7_user_data_needs_exactly_ceil_udl_times_7_over_8_octets():
    scts = pdu.encode_timestamp(WHEN).hex().upper()
    for text in ("hi", "x" * 8, "y" * 9, "z" * 160):
        septets = gsm7.encode(text)
        packed = gsm7.pack(septets).hex().upper()
        assert len(packed) // 2 == (len(septets) * 7 + 7) // 8
        whole = f"00040B915155214365F70000{scts}{len(septets):02X}{packed}"
        assert pdu.decode_deliver(whole).text == text
        with pytest.raises(pdu.PduError, match="user data"):
            pdu.decode_deliver(whole[:-2])


def test_a_user_data_header_longer_than_the_user_data_is_an_error():
    with pytest.raises(pdu.PduError, match="user data header truncated"):
        pdu.decode_deliver(_deliver_8bit("05000309", 4, udhi=True))
    with pytest.raises(pdu.PduError, match="user data header indicated but user data is empty"):
        pdu.decode_deliver(_deliver_8bit("", 0, udhi=True))


def test_a_user_data_length_beyond_one_sms_is_an_error():
    scts = pdu.encode_timestamp(WHEN).hex().upper()
    with pytest.raises(pdu.PduError, match="161 exceeds 160 septets"):
        pdu.decode_deliver(f"00040B915155214365F70000{scts}A1" + "00" * 141)
    with pytest.raises(pdu.PduError, match="141 exceeds 140 octets"):
        pdu.decode_deliver(_deliver_8bit("00" * 141, 141))


def test_a_pdu_of_another_length_than_announced_is_an_error():
    whole = pdu.encode_deliver("+15551234567", "Is the store open on Sunday?", WHEN)[0]
    length = pdu.tpdu_length(whole)
    assert pdu.decode_deliver(whole, length=length).text == "Is the store open on Sunday?"
    assert pdu.pdu_type(whole, length=length) == 0
    for announced in (length - 1, length + 1, 0):
        with pytest.raises(pdu.PduError, match=f"TPDU octets where the modem announced {announced}$"):
            pdu.decode_deliver(whole, length=announced)
        with pytest.raises(pdu.PduError, match="announced"):
            pdu.pdu_type(whole, length=announced)
    # The SMSC field is not part of the TPDU length: a PDU with and without it.
    bare_smsc = "00" + whole[2 + 2 * int(whole[:2], 16) :]
    assert pdu.decode_deliver(bare_smsc, length=length).text == "Is the store open on Sunday?"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("0004A", "odd number of hex digits"),
        ("00G4", "not valid hex"),
        ("07911326040000F0040B91134661008", "odd number"),
    ],
)
def test_odd_or_non_hex_digits_are_errors(bad, error):
    with pytest.raises(pdu.PduError, match=error):
        pdu.decode_deliver(bad)
