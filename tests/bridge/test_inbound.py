"""Reassembly of what is on the SIM into messages to store: parts stay until complete or timed
out, references that repeat, duplicate copies, surrogate pairs split by the sender, and cut PDUs,
which are never recorded (so never stored, so never deleted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conductor_bridge import pdu
from conductor_bridge.inbound import SimInventory

WHEN = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
ALICE = "+16195550100"
BOB = "+16195550111"
TIMEOUT = 600.0


def _inventory(slots: dict[int, str], now: float = 0.0) -> SimInventory:
    inventory = SimInventory()
    inventory.replace_all(list(slots.items()), now)
    return inventory


def test_single_sms_is_ready_at_once():
    [one] = pdu.encode_deliver(ALICE, "hello", WHEN)
    [message] = _inventory({3: one}).ready(0.0, TIMEOUT)
    assert (message.sender, message.text, message.timestamp) == (ALICE, "hello", WHEN)
    assert (message.modem_index, message.indexes, message.parts, message.complete) == (3, (3,), 1, True)


def test_parts_wait_until_complete_and_join_in_order_whatever_the_arrival_order():
    text = "part of a long message. " * 20
    parts = pdu.encode_deliver(ALICE, text, WHEN, reference=77)
    assert len(parts) == 4
    inventory = SimInventory()
    inventory.add(5, parts[2], 0.0)
    inventory.add(6, parts[0], 1.0)
    inventory.add(7, parts[3], 2.0)
    assert inventory.ready(100.0, TIMEOUT) == []
    assert inventory.waiting_groups() == 1
    assert inventory.next_expiry(TIMEOUT) == TIMEOUT
    inventory.add(8, parts[1], 3.0)
    [message] = inventory.ready(100.0, TIMEOUT)
    assert message.text == text
    assert message.parts == 4
    assert message.indexes == (5, 6, 7, 8)
    assert message.modem_index == 6  # where part 1 is
    assert message.complete


def test_incomplete_message_is_stored_marked_after_the_timeout():
    parts = pdu.encode_deliver(ALICE, "A" * 153 + "B" * 153 + "C" * 10, WHEN, reference=9)
    inventory = SimInventory()
    inventory.add(1, parts[0], 10.0)
    inventory.add(2, parts[2], 20.0)
    assert inventory.ready(10.0 + TIMEOUT - 1, TIMEOUT) == []
    [message] = inventory.ready(10.0 + TIMEOUT, TIMEOUT)
    assert not message.complete
    assert (
        message.text == "[incomplete: 1 of 3 parts missing] " + "A" * 153 + "[part 2 of 3 missing]" + "C" * 10
    )
    assert message.indexes == (1, 2)
    assert message.parts == 3


def test_same_reference_from_two_senders_or_two_messages_stays_apart():
    a = pdu.encode_deliver(ALICE, "a" * 200, WHEN, reference=5)
    b = pdu.encode_deliver(BOB, "b" * 200, WHEN, reference=5)
    a2 = pdu.encode_deliver(ALICE, "c" * 200, WHEN + timedelta(minutes=5), reference=5)
    inventory = _inventory({1: a[0], 2: b[0], 3: a2[0], 4: a[1], 5: b[1], 6: a2[1]})
    texts = sorted(m.text for m in inventory.ready(0.0, TIMEOUT))
    assert texts == ["a" * 200, "b" * 200, "c" * 200]


def test_sixteen_bit_references():
    parts = pdu.encode_deliver(ALICE, "z" * 300, WHEN, reference=0xBEEF, iei=pdu.IEI_CONCAT_16)
    [message] = _inventory({1: parts[1], 2: parts[0]}).ready(0.0, TIMEOUT)
    assert message.text == "z" * 300


def test_a_part_stored_twice_is_deleted_with_its_message():
    parts = pdu.encode_deliver(ALICE, "y" * 200, WHEN, reference=1)
    [message] = _inventory({1: parts[0], 2: parts[0], 3: parts[1]}).ready(0.0, TIMEOUT)
    assert message.text == "y" * 200
    assert message.indexes == (1, 2, 3)


def test_surrogate_pair_split_across_parts_by_the_sender():
    units = "😀".encode("utf-16-be")
    first = "ab" + units[:2].decode("utf-16-be", errors="surrogatepass")
    second = units[2:].decode("utf-16-be", errors="surrogatepass") + "cd"
    parts = pdu.encode_deliver(ALICE, "", WHEN, reference=4, pieces=[first, second], encoding="ucs2")
    [message] = _inventory({1: parts[0], 2: parts[1]}).ready(0.0, TIMEOUT)
    assert message.text == "ab😀cd"


def test_storage_full_releases_the_oldest_incomplete_message():
    old = pdu.encode_deliver(ALICE, "o" * 300, WHEN, reference=1)
    new = pdu.encode_deliver(BOB, "n" * 300, WHEN, reference=2)
    inventory = SimInventory()
    inventory.add(1, old[0], 0.0)
    inventory.add(2, new[0], 5.0)
    assert inventory.ready(10.0, TIMEOUT, storage_full=False) == []
    [message] = inventory.ready(10.0, TIMEOUT, storage_full=True)
    assert message.sender == ALICE
    assert not message.complete


def test_forget_and_replace_follow_the_sim():
    [one] = pdu.encode_deliver(ALICE, "one", WHEN)
    [two] = pdu.encode_deliver(ALICE, "two", WHEN)
    inventory = _inventory({1: one, 2: two})
    inventory.forget([1])
    assert [m.text for m in inventory.ready(0.0, TIMEOUT)] == ["two"]
    inventory.replace_all([(4, one)], 1.0)  # slot 2 was deleted by someone else
    assert [(m.modem_index, m.text) for m in inventory.ready(1.0, TIMEOUT)] == [(4, "one")]


def test_first_seen_survives_a_rescan_so_the_timeout_runs_from_arrival():
    parts = pdu.encode_deliver(ALICE, "q" * 200, WHEN, reference=8)
    inventory = SimInventory()
    inventory.add(1, parts[0], 0.0)
    inventory.replace_all([(1, parts[0])], 500.0)
    assert inventory.next_expiry(TIMEOUT) == TIMEOUT


def test_a_cut_pdu_is_never_recorded_however_often_it_is_seen():
    bad = "07911326040000F0040B9113466100"  # cut inside the originating address
    inventory = SimInventory()
    for attempt in range(10):
        assert inventory.add(9, bad, float(attempt)) is False
        assert inventory.ready(float(attempt), TIMEOUT, storage_full=True) == []
    assert len(inventory) == 0


def test_a_pdu_cut_inside_its_user_data_is_never_recorded_and_replaces_nothing():
    [good] = pdu.encode_deliver(ALICE, "the whole text, not a prefix of it", WHEN)
    length = pdu.tpdu_length(good)
    inventory = SimInventory()
    assert inventory.add(4, good, 0.0, length) is True
    # The same slot read again with its tail lost: the earlier decode is not kept either, the
    # bridge reads the slot again before anything is stored or deleted.
    assert inventory.add(4, good[:-8], 1.0, length) is False
    assert inventory.add(4, good[:-8], 2.0) is False  # user data shorter than its length says
    assert inventory.ready(2.0, TIMEOUT) == []
    inventory.replace_all([(4, good, length)], 3.0)
    [message] = inventory.ready(3.0, TIMEOUT)
    assert message.text == "the whole text, not a prefix of it"
    assert inventory.add(4, good + "00", 4.0, length) is False  # longer than announced


def test_a_garbled_read_followed_by_a_good_one_is_the_good_one():
    [good] = pdu.encode_deliver(ALICE, "fine", WHEN)
    inventory = SimInventory()
    inventory.add(2, good[:20], 0.0)
    inventory.add(2, good[:20], 1.0)
    inventory.add(2, good, 2.0)
    [message] = inventory.ready(0.0, TIMEOUT)
    assert message.text == "fine"
