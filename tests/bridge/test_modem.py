"""The AT layer and the SMS operations against the simulator on a pty (no database): the init
sequence, URCs anywhere (also inside responses), garbage, timeouts and resynchronisation, the
AT+CMGS prompt and its failure modes, and the port vanishing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from conductor_bridge import pdu
from conductor_bridge.at import AtChannel, AtError, AtTimeout, PortLost, SendFailed, SendUnknown
from conductor_bridge.modem import _LIST_RE, _READ_RE, Modem, SimError, Timeouts, _parse_listing, pdu_problem
from conductor_bridge.simulator import ModemSimulator
from tests.bridge.conftest import wait_for

FAST = Timeouts(command=0.5, prompt=0.5, send=0.8, list=1.0)


@pytest.fixture
def channel(sim: ModemSimulator) -> Iterator[AtChannel]:
    ch = AtChannel(sim.path)
    ch.open()
    yield ch
    ch.close()


@pytest.fixture
def modem(channel: AtChannel) -> Modem:
    m = Modem(channel, timeouts=FAST)
    m.initialize()
    return m


def _submit(text: str = "hello", to: str = "+16195550100") -> pdu.SubmitPdu:
    return pdu.encode_submit(to, text)[0]


def test_init_sequence_configures_pdu_mode_storage_and_notices(sim, modem):
    commands = [c.upper() for c in sim.commands]
    for expected in (
        "ATE0",
        "AT+CMEE=1",
        "AT+CPIN?",
        "AT+CMGF=0",
        'AT+CPMS="SM","SM","SM"',
        "AT+CNMI=2,1,0,0,0",
    ):
        assert expected in commands
    assert commands.index("ATE0") < commands.index("AT+CMGF=0")
    assert modem.model == sim.model
    assert (modem.memory, modem.used, modem.capacity) == ("SM", 0, 30)
    assert modem.signal() == 21


def test_init_works_with_echo_on_and_a_modem_stuck_in_the_prompt(sim, channel):
    channel.write(b"AT+CMGS=10\r")  # an earlier run died at the '> ' prompt
    wait_for(lambda: sim._pdu_mode is not None, what="prompt mode")
    Modem(channel, timeouts=FAST).initialize()
    assert not sim.sent


def test_sim_pin_is_entered_once_when_asked():
    sim = ModemSimulator(pin="1234", instant=True).start()
    try:
        ch = AtChannel(sim.path)
        ch.open()
        with pytest.raises(SimError, match="asks for a PIN"):
            Modem(ch, timeouts=FAST).initialize()
        with pytest.raises(SimError, match="refused the PIN"):
            Modem(ch, pin="0000", timeouts=FAST).initialize()
        assert sum(c.upper().startswith("AT+CPIN=") for c in sim.commands) == 1
        Modem(ch, pin="1234", timeouts=FAST).initialize()
        ch.close()
    finally:
        sim.stop()


def test_urc_inside_a_response_is_queued_and_the_response_parsed(sim, modem, channel):
    sim.add_fault("AT+CSQ", "urc", '+CMTI: "SM",7')
    assert modem.signal() == 21
    assert [u.line for u in channel.urcs] == ['+CMTI: "SM",7']


def test_a_cmti_after_a_final_ok_is_pending_until_polled(sim, modem, channel):
    sim.inject("+16195550100", "first")
    wait_for(lambda: sim.stored(), what="first stored")
    sim.inject("+16195550101", "second", urc_after="AT+CSQ")
    wait_for(lambda: len(sim.stored()) == 2, what="second stored")
    channel.poll(0.05)
    channel.urcs.clear()
    assert modem.signal() == 21
    assert channel.pending(), "the notice read with the OK waits to be handled"
    channel.poll(0)
    assert [u.line for u in channel.urcs] == ['+CMTI: "SM",2']


def test_cmti_inside_a_listing_is_not_taken_for_a_message(sim, modem, channel):
    sim.inject("+16195550100", "first")
    wait_for(lambda: sim.stored(), what="first stored")
    sim.inject("+16195550101", "second", urc_inside="AT+CMGL")
    wait_for(lambda: len(sim.stored()) == 2, what="second stored")
    channel.poll(0.05)
    channel.urcs.clear()
    listing = modem.list_all()
    assert [pdu.decode_deliver(item.pdu).text for item in listing] == ["first", "second"]
    assert [u.line for u in channel.urcs] == ['+CMTI: "SM",2']


def test_two_line_cmt_urc_carries_its_pdu(sim, modem, channel):
    deliver = pdu.encode_deliver("+16195550100", "direct", datetime(2026, 1, 1, tzinfo=UTC))[0]
    sim.add_fault("AT+CSQ", "urc", f"+CMT: ,{pdu.tpdu_length(deliver)}\r\n{deliver}")
    assert modem.signal() == 21
    [urc] = channel.urcs
    assert urc.name == "+CMT"
    assert pdu.decode_deliver(urc.pdu).text == "direct"


def test_garbage_bytes_between_and_inside_responses_are_ignored(sim, modem, channel):
    sim.send_garbage(b"\xff\xfe\x00\x80garbage\r\n\x1b\x9b")
    sim.add_fault("AT+CGMM", "garbage", b"\r\n\xff\xff\xc3(\x00junk\x81\r\n")
    assert modem.at("AT+CGMM") == [sim.model]
    sim.garbage_probability = 1.0
    assert modem.signal() == 21
    assert modem.list_all() == []


def test_lost_reply_times_out_and_resync_recovers(sim, modem, channel):
    sim.add_fault("AT+CSQ", "drop")
    with pytest.raises(AtTimeout):
        modem.signal()
    channel.resync()
    assert modem.signal() == 21


def test_late_reply_is_drained_by_resync_not_taken_for_the_next_answer(sim, modem, channel):
    sim.add_fault("AT+CSQ", "delay", 0.7)
    with pytest.raises(AtTimeout):
        modem.signal()  # times out after 0.5 s; the answer comes at 0.7 s
    channel.resync()
    assert modem.at("AT+CGMM") == [sim.model]


def test_silent_modem_fails_resync(sim, modem, channel):
    sim.set_silent(True)
    with pytest.raises(AtTimeout):
        channel.resync(timeout=0.3)
    sim.set_silent(False)
    channel.resync()


def test_read_and_delete_by_index(sim, modem):
    sim.inject("+16195550100", "one")
    sim.inject("+16195550100", "two")
    wait_for(lambda: len(sim.stored()) == 2, what="two stored")
    assert pdu.decode_deliver(modem.read(2).pdu).text == "two"
    assert modem.read(5) is None  # empty slot: +CMS ERROR 321
    modem.delete(1)
    assert list(sim.stored()) == [2]
    modem.delete(1)  # already gone: fine
    assert sim.bulk_deletes == 0


def test_send_returns_the_message_reference(sim, modem):
    parts = pdu.encode_submit("+16195550100", "x" * 200, reference=3)
    refs = [modem.send(p.tpdu_length, p.hex) for p in parts]
    assert refs == [0, 1]
    [message] = sim.sent_messages()
    assert (message.recipient, message.text, message.parts) == ("+16195550100", "x" * 200, 2)


@pytest.mark.parametrize("code", [304, 330, 331, 332, 500])
def test_cms_error_after_ctrl_z_is_a_certain_failure(sim, modem, code):
    sim.add_fault("AT+CMGS", "cms", code, stage="submit")
    part = _submit()
    with pytest.raises(SendFailed) as failure:
        modem.send(part.tpdu_length, part.hex)
    assert failure.value.code == f"CMS:{code}"
    assert not sim.sent
    assert modem.signal() == 21  # still in step


def test_cms_error_before_the_prompt_is_a_certain_failure(sim, modem):
    sim.add_fault("AT+CMGS", "cms", 331)
    part = _submit()
    with pytest.raises(SendFailed) as failure:
        modem.send(part.tpdu_length, part.hex)
    assert failure.value.code == "CMS:331"
    assert not sim.sent


def test_no_prompt_is_a_certain_failure(sim, modem, channel):
    sim.add_fault("AT+CMGS", "drop")
    part = _submit()
    with pytest.raises(SendFailed) as failure:
        modem.send(part.tpdu_length, part.hex)
    assert failure.value.code == "no_prompt"
    assert not sim.sent
    channel.resync()
    modem.send(part.tpdu_length, part.hex)
    assert len(sim.sent) == 1


def test_lost_answer_after_ctrl_z_is_unknown(sim, modem, channel):
    sim.add_fault("AT+CMGS", "drop", stage="submit")
    part = _submit()
    with pytest.raises(SendUnknown):
        modem.send(part.tpdu_length, part.hex)
    assert len(sim.sent) == 1  # it did go out: that is why the outcome is "unknown"
    channel.resync()
    assert modem.signal() == 21


def test_delayed_answer_within_the_timeout_is_a_success(sim, modem):
    sim.add_fault("AT+CMGS", "delay", 0.3, stage="submit")
    part = _submit()
    assert modem.send(part.tpdu_length, part.hex) == 0


def test_urcs_before_the_prompt_and_inside_the_send_answer(sim, modem, channel):
    part = _submit()
    sim.add_fault("AT+CMGS", "urc", '+CMTI: "SM",3')  # right after the command, before '> '
    sim.add_fault("AT+CMGS", "urc", '+CMTI: "SM",4', stage="submit")  # between +CMGS and OK
    assert modem.send(part.tpdu_length, part.hex) == 0
    assert [u.line for u in channel.urcs] == ['+CMTI: "SM",3', '+CMTI: "SM",4']


def test_invalid_pdu_length_is_refused_by_the_modem(sim, modem):
    part = _submit()
    with pytest.raises(SendFailed) as failure:
        modem.send(part.tpdu_length + 1, part.hex)
    assert failure.value.code == "CMS:304"


def test_unplugged_port_raises_port_lost_and_reopens_at_the_same_path(sim, modem, channel):
    sim.unplug()
    with pytest.raises(PortLost):
        modem.signal()
    assert not channel.is_open
    with pytest.raises(PortLost):
        channel.open()  # the path is gone
    sim.replug()
    channel.open()
    modem.initialize()  # the modem powered up afresh: echo on, notices off until configured
    assert modem.signal() == 21


def test_port_lost_before_ctrl_z_is_a_certain_failure(sim, modem):
    sim.add_fault("AT+CMGS", "drop")
    sim.unplug()
    part = _submit()
    with pytest.raises(SendFailed) as failure:
        modem.send(part.tpdu_length, part.hex)
    assert failure.value.code == "port_lost"
    assert failure.value.port_lost


def test_exclusive_open(sim, channel):
    other = AtChannel(sim.path)
    with pytest.raises(PortLost, match="exclusively lock"):
        other.open()


def test_error_refusals_carry_the_code(sim, modem):
    with pytest.raises(AtError) as refused:
        modem.at("AT+NOSUCH")
    assert refused.value.code == "ERROR"
    sim.add_fault("AT+CGMM", "cme", 14)
    with pytest.raises(AtError) as refused:
        modem.at("AT+CGMM")
    assert refused.value.code == "CME:14"


# -- reads damaged by line noise --------------------------------------------------------------------


def _deliver(text: str) -> str:
    return pdu.encode_deliver("+16195550100", text, datetime(2026, 1, 1, tzinfo=UTC))[0]


def test_a_pdu_line_split_in_two_is_one_damaged_message_not_two():
    first, second = _deliver("first message, the long one"), _deliver("second")
    lines = [
        f"+CMGL: 1,1,,{pdu.tpdu_length(first)}",
        first[:30],
        first[30:],
        f"+CMGL: 2,0,,{pdu.tpdu_length(second)}",
        second,
    ]
    items, outside = _parse_listing(lines, _LIST_RE, with_index=True)
    assert outside == []
    assert [(i.index, i.stat, i.intact) for i in items] == [(1, 1, False), (2, 0, True)]
    assert "2 lines" in items[0].problem
    assert items[1].pdu == second and items[1].length == pdu.tpdu_length(second)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "no PDU line"),
        (["CUT"], "not hex"),
        (["ODD"], "odd number of hex digits"),
        (["SHORT"], "announced"),
        (["LONG"], "announced"),
        (["SHORT_UD"], "truncated while reading user data"),
    ],
)
def test_a_pdu_that_is_not_the_announced_whole_is_damaged(body, problem):
    whole = _deliver("a text that noise must not shorten")
    length = pdu.tpdu_length(whole)
    variants = {"CUT": whole[:20] + "+CMGL", "ODD": whole[:-1], "SHORT": whole[:-2], "LONG": whole + "00"}
    lines = [f"+CMGR: 0,,{length}"] + [variants.get(line, line) for line in body]
    if body == ["SHORT_UD"]:  # the header damaged too: the length agrees, the user data is short
        lines = [f"+CMGR: 0,,{length - 2}", whole[:-4]]
    [item] = _parse_listing(lines, _READ_RE, with_index=False)[0]
    assert not item.intact
    assert problem in item.problem
    assert pdu_problem(whole, length) is None


def test_a_line_outside_any_header_is_kept_not_dropped():
    whole = _deliver("orphan")
    items, outside = _parse_listing(["+CMGL: 3,1", whole], _LIST_RE, with_index=True)
    assert items == []
    assert outside == ["+CMGL: 3,1", whole]


def test_split_and_cut_reads_from_the_modem_are_damaged_and_a_second_read_is_whole(sim, modem):
    sim.inject("+16195550100", "a text long enough to be cut somewhere in the middle")
    wait_for(lambda: sim.stored(), what="the message stored")
    sim.add_fault("AT+CMGR", "split")
    damaged = modem.read(1)
    assert damaged is not None and not damaged.intact and "2 lines" in damaged.problem
    sim.add_fault("AT+CMGR", "cut", 40)
    damaged = modem.read(1)
    assert damaged is not None and not damaged.intact and "announced" in damaged.problem
    whole = modem.read(1)
    assert whole is not None and whole.intact
    assert pdu.decode_deliver(whole.pdu).text == "a text long enough to be cut somewhere in the middle"
    sim.add_fault("AT+CMGL", "split", 12)
    [listed] = modem.list_all()
    assert not listed.intact and "2 lines" in listed.problem
    [listed] = modem.list_all()
    assert listed.intact and listed.pdu == whole.pdu


def test_a_split_fault_waits_for_an_answer_with_a_pdu(sim, modem):
    sim.add_fault("AT+CMGL", "split")
    assert modem.list_all() == []  # nothing stored: nothing to split, the fault stays
    sim.inject("+16195550100", "now there is one")
    wait_for(lambda: sim.stored(), what="the message stored")
    [listed] = modem.list_all()
    assert not listed.intact
    assert modem.list_all()[0].intact
