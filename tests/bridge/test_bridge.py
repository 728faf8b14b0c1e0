"""The bridge against the simulator and a database with the package installed: inbound SMS
committed before they leave the SIM, outbound claimed then sent and recorded, every fault the
modem or the database can throw at it, health, the CLI and a clean SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from conductor_bridge import pdu
from conductor_bridge.at import AtChannel, PortLost
from conductor_bridge.bridge import READ_ATTEMPTS, Config
from conductor_bridge.db import Database
from conductor_bridge.simulator import ModemSimulator
from tests.bridge.conftest import BRIDGE_ID, FAST, BridgeThread, bridge_command, wait_for

ALICE = "+16195550100"
BOB = "+16195550111"
CAROL = "+16195550122"
WHEN = datetime(2026, 6, 1, 9, 30, 15, tzinfo=UTC)


def inbound(db) -> list[tuple]:
    return db.rows(
        "select phone_number, content, parts, modem_timestamp from public.messages"
        " where direction = 'inbound' order by id"
    )


def queue(db, phone: str, text: str) -> int:
    return db.scalar("select public.queue_sms(phone_number => %s, content => %s)", (phone, text))


def message(db, message_id: int) -> dict:
    with db.connect() as conn:
        cur = conn.execute("select * from public.messages where id = %s", (message_id,))
        names = [c.name for c in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))


def status_of(db, message_id: int) -> str:
    return db.scalar("select status from public.messages where id = %s", (message_id,))


def health(db) -> dict:
    with db.connect() as conn:
        cur = conn.execute("select * from conductor.bridge_health where bridge_id = %s", (BRIDGE_ID,))
        row = cur.fetchone()
        return {} if row is None else dict(zip([c.name for c in cur.description], row, strict=True))


def ready(bridge_thread) -> bool:
    return bridge_thread.bridge.modem_ready


def scans(sim: ModemSimulator) -> int:
    return sum(1 for c in list(sim.commands) if c.upper() == "AT+CMGL=4")


# -- inbound -------------------------------------------------------------------------------------


def test_inbound_messages_are_stored_then_deleted_from_the_sim(db, sim, start_bridge):
    start_bridge(db.url)
    texts = [
        "Do you have {gummies} in stock? [asking for] a friend ~ 5€ ^^ | \\o/",
        "Long question: " + "what are your opening hours on the weekend, and do you deliver? " * 6,
        "Thanks 🙏🌿 see you soon! " * 8,
    ]
    for number, text in enumerate(texts):
        sim.inject(ALICE, text, WHEN.replace(minute=number))
    wait_for(lambda: len(inbound(db)) == 3, what="three inbound messages")
    rows = inbound(db)
    assert [r[1] for r in rows] == texts
    assert [r[2] for r in rows] == [len(pdu.split_text(t)[1]) for t in texts] == [1, 3, 4]
    assert [r[3] for r in rows] == [WHEN.replace(minute=n) for n in range(3)]
    wait_for(lambda: not sim.stored(), what="the SIM to be emptied")
    assert sorted(sim.deleted) == list(range(1, 9))
    assert sim.bulk_deletes == 0


def test_a_message_the_database_refuses_stays_on_the_sim(db, sim, start_bridge):
    db.execute(
        """
        create function public.refuse_poison() returns trigger language plpgsql as $$
        begin
            if new.content like 'poison%' then
                raise exception 'content: refused for the test' using errcode = '22023';
            end if;
            return new;
        end $$;
        create trigger refuse_poison before insert on public.messages
        for each row execute function public.refuse_poison();
        """
    )
    bridge = start_bridge(db.url)
    sim.inject(ALICE, "poison pill", WHEN)
    sim.inject(BOB, "fine", WHEN)
    wait_for(lambda: [r[1] for r in inbound(db)] == ["fine"], what="the fine message")
    wait_for(lambda: bridge.bridge.store_blocked, what="the refused message to be held back")
    assert [pdu_stat for pdu_stat in sim.stored().values()], "the refused message left the SIM"
    wait_for(lambda: "refused" in (health(db).get("last_error") or ""), what="the error in the health row")
    db.execute("drop trigger refuse_poison on public.messages")
    wait_for(lambda: len(inbound(db)) == 2, what="the message once the database accepts it")
    wait_for(lambda: not sim.stored(), what="the SIM to be emptied")


def test_a_lost_cmti_is_caught_by_the_backstop_scan(db, sim, start_bridge):
    sim.drop_urcs = True
    start_bridge(db.url)
    sim.inject(ALICE, "nobody told you about me", WHEN)
    wait_for(lambda: len(inbound(db)) == 1, what="the message found by AT+CMGL=4")
    wait_for(lambda: not sim.stored(), what="the SIM to be emptied")


def test_a_cmti_inside_another_response_is_not_lost(db, sim, start_bridge):
    bridge = start_bridge(db.url, poll_seconds=3600.0)  # no backstop scan during the test
    wait_for(lambda: ready(bridge) and scans(sim) == 1, what="the first scan")
    sim.inject(ALICE, "notice arrives inside +CSQ", WHEN, urc_inside="AT+CSQ")
    wait_for(lambda: len(inbound(db)) == 1, what="the message announced inside a response")
    assert scans(sim) == 1


def test_a_cmti_read_with_a_commands_answer_is_handled_at_once(db, sim, start_bridge):
    # The notice comes right after the OK of the deletion of the message before it, in the same
    # read: it is off the port, so select() will not wake for it. It must not wait for the
    # loop's next timer (5 s here: no poll, no heartbeat due).
    bridge = start_bridge(db.url, poll_seconds=3600.0, heartbeat_seconds=3600.0)
    wait_for(lambda: ready(bridge) and scans(sim) == 1, what="the first scan")
    sim.inject(ALICE, "first", WHEN)
    sim.inject(BOB, "announced after the deletion's OK", WHEN, urc_after="AT+CMGD")
    wait_for(lambda: len(inbound(db)) == 2, timeout=2.5, what="the second message without a timer's wait")
    assert scans(sim) == 1


def test_parts_stay_on_the_sim_until_the_message_is_complete(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    text = "Part one of three. " * 8 + "Part two of three. " * 8 + "Part three. " * 3
    sim.inject(ALICE, text, WHEN, reference=42, order=[1, 3])
    wait_for(lambda: ready(bridge) and len(sim.stored()) == 2, what="two parts on the SIM")
    before = scans(sim)
    wait_for(lambda: scans(sim) >= before + 2, what="two more scans")
    assert inbound(db) == []
    assert len(sim.stored()) == 2
    sim.inject(ALICE, text, WHEN, reference=42, order=[2])
    wait_for(lambda: len(inbound(db)) == 1, what="the complete message")
    assert inbound(db)[0][1:3] == (text, 3)
    wait_for(lambda: not sim.stored(), what="all three parts deleted")


def test_parts_left_on_the_sim_by_a_crash_after_the_commit_are_deleted_not_stored_again(
    db, sim, start_bridge
):
    # The bridge commits a 3-part message, then deletes its slots one by one; a crash after the
    # first deletion leaves parts 2 and 3. The next run must recognise them (not wait for the
    # multipart timeout and store them as a second, incomplete message).
    text = "First part. " * 13 + "Second part. " * 12 + "Third."
    first = start_bridge(db.url)
    pdus = sim.inject(ALICE, text, WHEN, reference=77)
    assert len(pdus) == 3
    wait_for(lambda: ready(first) and len(inbound(db)) == 1 and not sim.stored(), what="the message stored")
    first.stop()
    for leftover in pdus[1:]:
        sim.inject_pdu(leftover)
    wait_for(lambda: len(sim.stored()) == 2, what="the leftovers on the SIM")
    bridge = start_bridge(db.url, multipart_timeout_seconds=60.0)
    wait_for(lambda: ready(bridge) and not sim.stored(), what="the leftover parts deleted")
    assert inbound(db) == [(ALICE, text, 3, WHEN)]
    assert db.scalar("select count(*) from conductor.inbound_parts") == 3


def test_an_incomplete_group_whose_parts_are_not_stored_keeps_waiting(db, sim, start_bridge):
    bridge = start_bridge(db.url, multipart_timeout_seconds=60.0)
    sim.inject(ALICE, "x" * 153 + "y" * 153 + "z", WHEN, reference=78, order=[2, 3])
    wait_for(lambda: ready(bridge) and len(sim.stored()) == 2, what="two parts on the SIM")
    before = scans(sim)
    wait_for(lambda: scans(sim) >= before + 2, what="two more scans")
    assert len(sim.stored()) == 2
    assert inbound(db) == []


def test_an_incomplete_message_is_stored_marked_after_the_multipart_timeout(db, sim, start_bridge):
    start_bridge(db.url, multipart_timeout_seconds=1.0)
    text = "a" * 153 + "b" * 153 + "c" * 20
    sim.inject(ALICE, text, WHEN, withhold={2})
    wait_for(lambda: len(inbound(db)) == 1, what="the incomplete message")
    content = inbound(db)[0][1]
    assert content == "[incomplete: 1 of 3 parts missing] " + "a" * 153 + "[part 2 of 3 missing]" + "c" * 20
    wait_for(lambda: not sim.stored(), what="the parts deleted")


# -- reads damaged by line noise: never a cut text, never the only intact copy deleted -------------


def record_stores(bridge_thread: BridgeThread, sim: ModemSimulator) -> list[tuple[str, dict, list]]:
    """Every bridge_store_inbound call: (text, what the SIM held then, slots deleted until then)."""
    calls: list[tuple[str, dict, list]] = []
    original = bridge_thread.bridge.db.store_inbound

    def store(sender, text, *args):
        calls.append((text, sim.stored(), list(sim.deleted)))
        return original(sender, text, *args)

    bridge_thread.bridge.db.store_inbound = store
    return calls


def reads(sim: ModemSimulator, index: int) -> int:
    return sum(1 for c in list(sim.commands) if c.upper() == f"AT+CMGR={index}")


NOISY = "Hi, is the blue dream pre-roll back in stock? I'd pick up two on Friday after work, around 6pm."
NOISY_ALSO = "And do you take card at the counter? Thanks!"


def test_a_pdu_split_in_a_cmgr_answer_is_read_again_and_stored_whole_once_before_deletion(
    db, sim, start_bridge
):
    bridge = start_bridge(db.url, poll_seconds=3600.0)  # one scan at start: +CMTI -> AT+CMGR only
    wait_for(lambda: ready(bridge) and scans(sim) >= 1, what="the first scan")
    stores = record_stores(bridge, sim)
    sim.add_fault("AT+CMGR", "split", 40)
    sim.inject(ALICE, NOISY, WHEN)
    wait_for(lambda: len(inbound(db)) == 1 and not sim.stored(), what="the message stored and deleted")
    assert [r[1] for r in inbound(db)] == [NOISY]
    assert not sim.faults, "the split was applied"
    assert reads(sim, 1) == 2  # the split read, then the whole one
    [(text, on_sim, deleted)] = stores  # stored once, from the whole read
    assert text == NOISY
    assert list(on_sim) == [1] and deleted == []  # the slot was still there when it was stored
    assert sim.deleted == [1]


def test_a_pdu_split_in_a_listing_is_neither_lost_nor_taken_for_the_next_message(db, sim, start_bridge):
    sim.drop_urcs = True  # only the AT+CMGL=4 scan finds the messages
    sim.add_fault("AT+CMGL", "split", 30)  # the first PDU line of the first listing that has one
    bridge = start_bridge(db.url)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    stores = record_stores(bridge, sim)
    sim.inject(ALICE, NOISY, WHEN)
    sim.inject(BOB, NOISY_ALSO, WHEN)
    wait_for(lambda: len(inbound(db)) == 2 and not sim.stored(), what="both stored and deleted")
    assert not sim.faults, "the split was applied"
    assert sorted((r[0], r[1]) for r in inbound(db)) == [(ALICE, NOISY), (BOB, NOISY_ALSO)]
    assert sorted(text for text, _, _ in stores) == sorted([NOISY, NOISY_ALSO])  # each once
    assert reads(sim, 1) >= 1  # the damaged slot was read again by index
    for text, on_sim, deleted in stores:
        index = 1 if text == NOISY else 2
        assert index in on_sim and index not in deleted
    assert sorted(sim.deleted) == [1, 2]


def test_a_slot_that_stays_damaged_is_kept_reported_and_read_again_at_each_scan(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    stores = record_stores(bridge, sim)
    forever = 10**6
    sim.add_fault("AT+CMGR", "cut", 50, times=forever)
    sim.add_fault("AT+CMGL", "split", 30, times=forever)
    sim.inject(ALICE, NOISY, WHEN)
    wait_for(
        lambda: "SIM slot(s) 1 could not be read intact" in (health(db).get("last_error") or ""),
        what="the unreadable slot in the health row",
    )
    scanned, read = scans(sim), reads(sim, 1)
    wait_for(
        lambda: scans(sim) >= scanned + 2 and reads(sim, 1) >= read + 2 * (READ_ATTEMPTS - 1),
        what="the slot read again at the next scans",
    )
    assert 1 in bridge.bridge.unreadable
    assert stores == [] and inbound(db) == []
    assert sim.deleted == [] and list(sim.stored()) == [1]
    # Once the line is clean the message is stored whole, then deleted.
    sim.clear_faults()
    wait_for(lambda: len(inbound(db)) == 1 and not sim.stored(), what="the message once readable")
    assert [r[1] for r in inbound(db)] == [NOISY]
    assert [text for text, _, _ in stores] == [NOISY]
    assert not bridge.bridge.unreadable


def test_a_message_routed_to_the_bridge_is_stored_only_if_it_arrived_whole(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    whole = pdu.encode_deliver(ALICE, NOISY, WHEN)[0]
    length = pdu.tpdu_length(whole)
    # +CMT carries the SMS itself (the modem keeps no copy): inside an AT+CSQ answer, cut short.
    sim.add_fault("AT+CSQ", "urc", f"+CMT: ,{length}\r\n{whole[:60]}")
    wait_for(
        lambda: "(+CMT) arrived damaged" in (health(db).get("last_error") or ""),
        what="the damaged +CMT reported",
    )
    sim.add_fault("AT+CSQ", "urc", f"+CMT: ,{length}\r\n{whole}")
    wait_for(lambda: len(inbound(db)) == 1, what="the whole +CMT stored")
    assert [r[1] for r in inbound(db)] == [NOISY]


def test_a_sender_that_is_not_a_phone_number_is_kept(db, sim, start_bridge):
    start_bridge(db.url)
    sim.inject("MyCarrier", "Your bill is ready", WHEN)
    sim.inject("72345", "Short code says hi", WHEN)
    wait_for(
        lambda: db.scalar("select count(*) from conductor.other_sender_messages") == 2,
        what="both non-phone senders stored",
    )
    rows = db.rows("select sender, content from conductor.other_sender_messages order by content")
    assert rows == [("72345", "Short code says hi"), ("MyCarrier", "Your bill is ready")]
    wait_for(lambda: not sim.stored(), what="the SIM to be emptied")


def test_stop_keyword_is_handled_by_sql_and_answered_once(db, sim, start_bridge):
    start_bridge(db.url)
    sim.inject(CAROL, "  Stop ", WHEN)
    wait_for(lambda: any(m.recipient == CAROL for m in sim.sent_messages()), what="the confirmation")
    wait_for(lambda: not sim.stored(), what="the SIM to be emptied")
    assert len([m for m in sim.sent_messages() if m.recipient == CAROL]) == 1


# -- outbound ------------------------------------------------------------------------------------


def test_outbound_single_multipart_and_emoji(db, sim, start_bridge):
    start_bridge(db.url)
    texts = {
        ALICE: "Your order is ready for pickup.",
        BOB: "We have {new} strains [in stock] this week ~ 20% off € prices ^_^ " * 5,
        CAROL: "Thanks for visiting 🌿😀! Reply anytime. " * 4,
    }
    ids = {phone: queue(db, phone, text) for phone, text in texts.items()}
    wait_for(lambda: all(status_of(db, i) == "sent" for i in ids.values()), what="all sent")
    sent = {m.recipient: m for m in sim.sent_messages()}
    assert {phone: sent[phone].text for phone in texts} == texts
    for phone, message_id in ids.items():
        row = message(db, message_id)
        assert row["parts"] == sent[phone].parts
        assert row["modem_reference"] == sent[phone].references[-1]
        assert row["claimed_by"] == BRIDGE_ID
    assert len(sim.sent) == sum(m.parts for m in sent.values())
    assert sent[BOB].parts == 3 and sent[CAROL].parts > 1


def test_notify_wakes_the_bridge(db, sim, start_bridge):
    bridge = start_bridge(db.url, poll_seconds=3600.0)
    wait_for(
        lambda: ready(bridge) and health(db).get("modem_state") == "ready", what="the bridge to be ready"
    )
    time.sleep(0.3)  # past the start-up queue check: only a NOTIFY can wake it now
    message_id = queue(db, ALICE, "woken by NOTIFY")
    wait_for(lambda: status_of(db, message_id) == "sent", timeout=15, what="the send without polling")


def test_a_notify_that_arrives_during_another_query_still_wakes_the_bridge(db, sim, start_bridge):
    # The NOTIFY of a new message reaches the bridge's connection while it runs another query:
    # psycopg buffers it with that answer, so the socket stays quiet. The bridge must still send
    # at once, not at the next poll (a minute here).
    bridge = start_bridge(db.url, poll_seconds=60.0)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    database = bridge.bridge.db
    real_next_due = database.seconds_until_next_due
    queued: list[int] = []

    def next_due_then_notify_during_a_query():
        # The message commits just after the bridge looked for the next due one.
        until = real_next_due()
        if not queued:
            queued.append(queue(db, ALICE, "notified while busy"))
            time.sleep(0.2)  # the NOTIFY is on the bridge's socket now
            database._call("select 1", (), fetch="one")  # and read off it with this answer
        return until

    database.seconds_until_next_due = next_due_then_notify_during_a_query
    queue(db, BOB, "a message to wake the bridge once")
    wait_for(lambda: queued, what="the message queued during a query")
    wait_for(
        lambda: status_of(db, queued[0]) == "sent", timeout=10, what="the send without waiting for the poll"
    )


def test_a_message_due_later_is_sent_when_due(db, sim, start_bridge):
    bridge = start_bridge(db.url, poll_seconds=3600.0)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    message_id = db.scalar(
        "insert into public.messages (phone_number, content, direction, message_kind, next_attempt_at)"
        " values (%s, 'later', 'outbound', 'reply', now() + interval '1.5 seconds') returning id",
        (ALICE,),
    )
    wait_for(lambda: status_of(db, message_id) == "sent", timeout=15, what="the send when due")
    assert db.scalar("select sent_at >= next_attempt_at from public.messages where id = %s", (message_id,))


@pytest.mark.parametrize(
    ("command", "action", "value", "stage", "status", "code", "submitted"),
    [
        ("AT+CMGS", "cms", 330, "submit", "failed", "CMS:330", 0),  # permanent
        ("AT+CMGS", "cms", 331, "submit", "queued", "CMS:331", 0),  # transient: retried later
        ("AT+CMGS", "cms", 332, "submit", "queued", "CMS:332", 0),
        ("AT+CMGS", "cms", 304, "submit", "failed", "CMS:304", 0),
        ("AT+CMGS", "cms", 500, "command", "queued", "CMS:500", 0),
        ("AT+CMGS", "drop", None, "command", "queued", "no_prompt", 0),
        ("AT+CMGS", "drop", None, "submit", "outcome_unknown", "unconfirmed", 1),
    ],
)
def test_send_outcomes_are_reported_through_sql(
    db, sim, start_bridge, command, action, value, stage, status, code, submitted
):
    start_bridge(db.url)
    sim.add_fault(command, action, value, stage=stage)
    message_id = queue(db, ALICE, "will this go?")
    wait_for(
        lambda: (
            status_of(db, message_id) not in ("queued", "sending") or message(db, message_id)["retry_count"]
        )
    )
    row = message(db, message_id)
    assert (row["status"], row["error_code"]) == (status, code)
    assert len(sim.sent) == submitted
    # The modem is still in step: the next message goes out.
    after = queue(db, BOB, "next one")
    wait_for(lambda: status_of(db, after) == "sent", what="the next message")


def test_a_transient_failure_is_retried_and_sent_once(db, sim, start_bridge):
    db.execute("update conductor.settings set value = '[0]' where key = 'send_backoff_seconds'")
    start_bridge(db.url)
    sim.add_fault("AT+CMGS", "cms", 331, stage="submit")
    message_id = queue(db, ALICE, "second time lucky")
    wait_for(lambda: status_of(db, message_id) == "sent", what="the retried send")
    assert message(db, message_id)["retry_count"] == 1
    assert [m.text for m in sim.sent_messages()] == ["second time lucky"]


def test_a_failed_part_after_a_sent_part_is_unknown_not_retried(db, sim, start_bridge):
    db.execute("update conductor.settings set value = '[0]' where key = 'send_backoff_seconds'")
    start_bridge(db.url)
    sim.add_fault("AT+CMGS", "cms", 331, stage="submit", skip=1)  # part 1 goes, part 2 is refused
    message_id = queue(db, ALICE, "x" * 300)
    wait_for(lambda: status_of(db, message_id) == "outcome_unknown", what="the unknown outcome")
    assert "part 2 of 2" in message(db, message_id)["error_message"]
    assert len(sim.sent) == 1


def test_an_unknown_outcome_is_never_resent(db, sim, start_bridge):
    first = start_bridge(db.url)
    sim.add_fault("AT+CMGS", "drop", stage="submit")
    message_id = queue(db, ALICE, "did it go?")
    wait_for(lambda: status_of(db, message_id) == "outcome_unknown", what="the unknown outcome")
    first.stop()
    second = start_bridge(db.url)
    wait_for(lambda: ready(second) and health(db).get("modem_state") == "ready", what="the second run")
    other = queue(db, BOB, "after restart")
    wait_for(lambda: status_of(db, other) == "sent", what="the next message")
    assert status_of(db, message_id) == "outcome_unknown"
    assert [m.text for m in sim.sent_messages()].count("did it go?") == 1


def test_a_claim_left_by_a_crash_becomes_unknown_at_the_next_start(db, sim, start_bridge):
    message_id = queue(db, ALICE, "claimed, then the bridge died")
    with db.connect() as previous_run:
        previous_run.execute("select conductor.bridge_hello(%s, 'pc', 'port', 'v')", (BRIDGE_ID,))
        previous_run.execute("select message_id from conductor.bridge_claim_outbound(%s)", (BRIDGE_ID,))
    assert status_of(db, message_id) == "sending"
    bridge = start_bridge(db.url)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    assert status_of(db, message_id) == "outcome_unknown"
    assert not sim.sent


def test_a_claim_still_committing_when_the_next_run_starts_becomes_unknown(db, sim, start_bridge):
    # The killed run's backend commits its claim only after the next run said hello: hello
    # waits for the previous session of the same bridge to end, so the claim cannot slip past
    # it and stay in 'sending'.
    message_id = queue(db, ALICE, "claimed while the bridge died")
    with db.connect() as previous:
        previous.execute("select conductor.bridge_hello(%s, 'pc', 'port', 'v')", (BRIDGE_ID,))
        previous.execute("begin")
        previous.execute("select conductor.bridge_claim_outbound(%s)", (BRIDGE_ID,))
        bridge = start_bridge(db.url)
        wait_for(
            lambda: "still connected in another session" in (bridge.bridge.last_error or ""), what="the wait"
        )
        assert not ready(bridge)
        previous.execute("commit")
    wait_for(lambda: ready(bridge), what="the bridge to be ready once the previous session ended")
    assert status_of(db, message_id) == "outcome_unknown"
    assert not sim.sent


def test_hello_names_the_bridge_another_session_holds(db):
    with db.connect() as holder, db.connect() as other:
        holder.execute("select conductor.bridge_hello(%s, 'pc', 'port', 'v')", (BRIDGE_ID,))
        holder.execute("select conductor.bridge_hello(%s, 'pc', 'port', 'v')", (BRIDGE_ID,))  # same session
        expected = f"p_bridge_id: bridge {BRIDGE_ID} is still .* \\(backend pid {holder.info.backend_pid}\\)"
        with pytest.raises(psycopg.errors.LockNotAvailable, match=expected):
            other.execute("select conductor.bridge_hello(%s, 'pc', 'port', 'v')", (BRIDGE_ID,))


def test_the_server_drops_a_vanished_bridges_session_within_a_minute(db):
    # A modem PC that loses power leaves its session (and the identity lock above) on the server
    # until the server's TCP keepalive gives up: the bridge sets that to about a minute.
    database = Database(db.url, BRIDGE_ID)
    database.connect()
    try:
        settings = {
            name: database._call(f"show {name}", ())[0]
            for name in (
                "tcp_keepalives_idle",
                "tcp_keepalives_interval",
                "tcp_keepalives_count",
                "tcp_user_timeout",
            )
        }
    finally:
        database.close()
    assert settings == {
        "tcp_keepalives_idle": "30",
        "tcp_keepalives_interval": "10",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "30000",
    }


# -- modem and port faults ----------------------------------------------------------------------------


def test_garbage_on_the_line_does_not_disturb_the_flow(db, sim, start_bridge):
    sim.garbage_probability = 0.3
    start_bridge(db.url)
    ids = [queue(db, ALICE, f"outbound {n}") for n in range(5)]
    for n in range(5):
        sim.inject(BOB, f"inbound {n}", WHEN.replace(second=n))
        sim.send_garbage()
    wait_for(lambda: len(inbound(db)) == 5, what="five inbound")
    wait_for(lambda: all(status_of(db, i) == "sent" for i in ids), what="five sent")
    assert sorted(m.text for m in sim.sent_messages()) == [f"outbound {n}" for n in range(5)]


def test_port_unplugged_and_replugged(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    sim.unplug()
    wait_for(lambda: bridge.bridge.modem_state == "port_missing", what="the port to be missed")
    message_id = queue(db, ALICE, "queued while unplugged")
    sim.inject(BOB, "sent to us while unplugged", WHEN)
    time.sleep(0.5)
    assert status_of(db, message_id) == "queued"  # nothing is claimed without a modem
    sim.replug()
    wait_for(lambda: status_of(db, message_id) == "sent", what="the send after replugging")
    wait_for(lambda: len(inbound(db)) == 1, what="the inbound after replugging")
    assert sim.path in (health(db).get("last_error") or "")  # "serial port lost" or "cannot open"


def test_port_lost_after_ctrl_z_is_unknown(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    sim.add_fault("AT+CMGS", "drop", stage="submit")
    message_id = queue(db, ALICE, "into the void")
    wait_for(lambda: sim.sent, what="the PDU at the modem")
    sim.unplug()
    wait_for(lambda: status_of(db, message_id) == "outcome_unknown", what="the unknown outcome")
    assert "port lost" in message(db, message_id)["error_message"]
    sim.replug()
    wait_for(lambda: ready(bridge), what="the bridge back")
    other = queue(db, BOB, "after the port came back")
    wait_for(lambda: status_of(db, other) == "sent", what="the next message")


def test_port_lost_before_the_pdu_is_a_retryable_failure(db, sim, start_bridge):
    start_bridge(db.url)
    sim.add_fault("AT+CMGS", "drop")
    message_id = queue(db, ALICE, "never left")
    wait_for(lambda: any(c.upper().startswith("AT+CMGS") for c in list(sim.commands)), what="AT+CMGS")
    sim.unplug()
    wait_for(
        lambda: status_of(db, message_id) == "queued" and message(db, message_id)["error_code"], what="report"
    )
    assert message(db, message_id)["error_code"] == "port_lost"
    assert not sim.sent
    sim.replug()


def test_a_silent_modem_is_reinitialised_and_the_port_reopened(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    inits = sum(1 for c in list(sim.commands) if c.upper() == "ATE0")
    sim.set_silent(True)
    wait_for(lambda: bridge.bridge.modem_state == "no_answer", what="the modem to be found silent")
    sim.inject(ALICE, "waiting for the modem to wake up", WHEN)
    sim.set_silent(False)
    wait_for(lambda: len(inbound(db)) == 1, what="the message after the modem woke up")
    assert sum(1 for c in list(sim.commands) if c.upper() == "ATE0") > inits
    # The health row shows the silence: the timeout ("did not answer"), the resynchronisation
    # ("modem silent after ...") or the new initialisation ("does not answer"), whichever step
    # the last heartbeat before the modem woke up carried.
    last_error = health(db).get("last_error") or ""
    assert "not answer" in last_error or "modem silent" in last_error, last_error


def test_a_second_bridge_cannot_take_the_port(db, sim, start_bridge):
    first = start_bridge(db.url)
    wait_for(lambda: ready(first), what="the first bridge")
    second = BridgeThread(Config(port=sim.path, database_url=db.url, bridge_id="intruder", **FAST)).start()
    try:
        # The bridge reports the error in its health row (the in-memory last_error clears once a
        # heartbeat has carried it, so polling it would race the heartbeat).
        wait_for(
            lambda: (
                "exclusively"
                in (
                    db.scalar("select last_error from conductor.bridge_health where bridge_id = 'intruder'")
                    or ""
                )
            ),
            what="the refused open in the intruder's health row",
        )
        assert not second.bridge.modem_ready
        message_id = queue(db, ALICE, "first bridge still works")
        wait_for(lambda: status_of(db, message_id) == "sent", what="the send")
        assert message(db, message_id)["claimed_by"] == BRIDGE_ID
    finally:
        second.stop()


def test_sim_pin_is_entered(db, start_bridge):
    with ModemSimulator(pin="4321", instant=True) as locked:
        bridge = start_bridge(db.url, port=locked.path, pin="4321")
        wait_for(lambda: ready(bridge), what="the unlocked modem")
        assert 'AT+CPIN="4321"' in locked.commands


def test_a_wrong_pin_is_tried_once(db, start_bridge):
    with ModemSimulator(pin="4321", instant=True) as locked:
        bridge = start_bridge(db.url, port=locked.path, pin="1111", reopen_max_seconds=0.2)
        wait_for(lambda: bridge.bridge.modem_state == "sim_error", what="the SIM error")
        time.sleep(1.0)
        assert sum(1 for c in locked.commands if c.upper().startswith("AT+CPIN=")) == 1


# -- database faults -----------------------------------------------------------------------------------


def test_database_restart(db, sim, start_bridge, pg_cluster):
    bridge = start_bridge(db.url, poll_seconds=3600.0)
    wait_for(
        lambda: ready(bridge) and health(db).get("modem_state") == "ready", what="the bridge to be ready"
    )
    pg_cluster.restart()
    restarted = db.scalar("select now()")
    sim.inject(ALICE, "arrived around the restart", WHEN)
    wait_for(lambda: health(db)["last_seen_at"] > restarted, what="the bridge to reconnect")
    message_id = queue(db, BOB, "queued after the restart")  # needs LISTEN again: no polling
    wait_for(lambda: status_of(db, message_id) == "sent", what="the send after the restart")
    wait_for(lambda: len(inbound(db)) == 1, what="the inbound after the restart")


def test_a_send_result_is_recorded_once_the_database_is_back(db, sim, start_bridge, pg_cluster):
    bridge = start_bridge(db.url, send_timeout=10.0)
    wait_for(lambda: ready(bridge), what="the bridge to be ready")
    sim.add_fault("AT+CMGS", "delay", 1.5, stage="submit")
    message_id = queue(db, ALICE, "answered while the database was down")
    wait_for(lambda: sim.sent, what="the PDU at the modem")
    pg_cluster.stop()
    try:
        wait_for(lambda: bridge.bridge.pending, what="the result kept for later")
    finally:
        pg_cluster.start()
    wait_for(lambda: status_of(db, message_id) == "sent", what="the late record")
    assert bridge.bridge.recorded_late == 1
    assert len(sim.sent) == 1


def test_runs_as_a_login_role_granted_conductor_bridge(db, sim, start_bridge):
    role = f"bridge_{uuid.uuid4().hex[:8]}"
    db.execute(f"create role {role} login")
    db.execute(f"grant conductor_bridge to {role}")
    try:
        bridge = start_bridge(db.url.replace("postgres@", f"{role}@"))
        message_id = queue(db, ALICE, "sent by the restricted role")
        sim.inject(BOB, "stored by the restricted role", WHEN)
        wait_for(lambda: status_of(db, message_id) == "sent", what="the send")
        wait_for(lambda: len(inbound(db)) == 1, what="the inbound")
        bridge.stop()
    finally:
        db.execute(f"drop role {role}")


def test_refuses_to_run_as_a_role_without_the_bridge_grants(db, sim, start_bridge):
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    db.execute(f"create role {role} login")
    try:
        bridge = start_bridge(db.url.replace("postgres@", f"{role}@"))
        wait_for(lambda: not bridge.alive, what="the bridge to give up")
        assert bridge.stop() == 2
        assert not sim.commands  # it never touched the modem
    finally:
        db.execute(f"drop role {role}")


# -- health -----------------------------------------------------------------------------------------------


def test_health_is_reported(db, sim, start_bridge):
    bridge = start_bridge(db.url)
    ids = [queue(db, ALICE, f"hello {n}") for n in range(2)]
    for n in range(3):
        sim.inject(BOB, f"question {n}", WHEN.replace(second=n))
    wait_for(lambda: all(status_of(db, i) == "sent" for i in ids) and len(inbound(db)) == 3, what="traffic")
    wait_for(lambda: health(db).get("messages_sent") == 2 and health(db).get("messages_received") == 3)
    row = health(db)
    assert row["modem_state"] == "ready"
    assert row["modem_model"] == sim.model
    assert row["signal_quality"] == 21
    assert row["port"] == sim.path
    assert row["started_at"] is not None and row["bridge_version"]
    bridge.stop()
    assert health(db)["modem_state"] == "stopped"


# -- the command ----------------------------------------------------------------------------------------


def test_sigterm_stops_cleanly_and_releases_the_port(db, sim, spawn_bridge):
    process = spawn_bridge(bridge_command(sim.path, db.url))
    wait_for(lambda: health(db).get("modem_state") == "ready", what="the bridge to be ready")
    assert process.terminate() == 0, process.log()
    assert health(db)["modem_state"] == "stopped"
    channel = AtChannel(sim.path)
    channel.open()  # exclusive: fails if the bridge still held it
    channel.close()


def test_refuses_a_database_without_the_package(empty_db, sim, spawn_bridge):
    process = spawn_bridge(bridge_command(sim.path, empty_db.url))
    assert process.wait() == 2
    assert "conductor.installed_versions is missing" in process.log()


def test_help_explains_every_flag_and_the_environment():
    result = subprocess.run(
        [sys.executable, "-m", "conductor_bridge", "--help"], capture_output=True, text=True, check=True
    )
    for word in (
        "--port",
        "--baud",
        "--pin",
        "--bridge-id",
        "--database-url",
        "--log-level",
        "DATABASE_URL",
        "CONDUCTOR_SIM_PIN",
        "/dev/serial/by-id",
        "ID_MM_DEVICE_IGNORE",
        "exit status",
    ):
        assert word in result.stdout


def test_usage_errors_exit_64():
    result = subprocess.run(
        [sys.executable, "-m", "conductor_bridge", "--database-url", "postgresql://x/y"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 64
    assert "--port is required" in result.stderr


def test_port_lost_error_names_the_port(tmp_path):
    channel = AtChannel(str(tmp_path / "ttyNOPE"))
    with pytest.raises(PortLost, match="ttyNOPE"):
        channel.open()
