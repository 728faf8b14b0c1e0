"""The bridge loop: moves SMS between one modem and the database, and nothing else.

One thread, one select(): on the serial port (URCs such as +CMTI), the database connection
(NOTIFY on the outbound channel), a wake-up pipe (signals) and timers (SIM backstop scan,
heartbeat, next due message, reconnect backoff).

Inbound: +CMTI -> AT+CMGR=<index>, and AT+CMGL=4 every poll interval; a message (parts joined)
is committed through conductor.bridge_store_inbound before AT+CMGD deletes its slots by index.
Only a slot read intact is stored (see modem.py): a damaged read is read again with AT+CMGR, a
few times; a slot that stays unreadable stays on the SIM, is reported in the health row's
last_error, and is read again at the next scan.
Outbound: claim one message (committed) -> AT+CMGS per part -> bridge_mark_sent / _failed /
_unknown. A result that cannot be recorded because the database is away is kept and recorded
first thing after reconnecting. All decisions (retries, opt-outs, quiet hours) are the SQL side's.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
import time
from dataclasses import dataclass

from conductor_bridge import __version__, gsm7, pdu
from conductor_bridge.at import AtChannel, AtError, AtTimeout, PortLost, SendFailed, SendUnknown
from conductor_bridge.db import Claimed, Database, DatabaseDown, DatabaseError, NotInstalled
from conductor_bridge.inbound import SimInventory
from conductor_bridge.modem import (
    STAT_REC_READ,
    STAT_REC_UNREAD,
    Modem,
    SimError,
    StoredPdu,
    Timeouts,
    pdu_problem,
)

log = logging.getLogger("conductor_bridge")

READ_ATTEMPTS = 3  # AT+CMGR reads of a slot before it counts as unreadable until the next scan

EXIT_OK = 0
EXIT_NOT_INSTALLED = 2
LOCK_NOT_AVAILABLE = "55P03"  # bridge_hello: this bridge identity is held by another session


@dataclass
class Config:
    port: str
    database_url: str
    baud: int = 115200
    pin: str | None = None
    bridge_id: str | None = None
    heartbeat_seconds: float = 30.0
    command_timeout: float = 10.0
    prompt_timeout: float = 10.0
    send_timeout: float = 60.0
    reopen_max_seconds: float = 30.0
    db_retry_max_seconds: float = 30.0
    poll_seconds: float | None = None  # default: from bridge_hello
    multipart_timeout_seconds: float | None = None  # default: from bridge_hello
    shutdown_grace_seconds: float = 10.0
    max_sends_per_pass: int = 10


@dataclass(frozen=True)
class Result:
    """The outcome of one send, to record through the SQL contract."""

    kind: str  # sent, failed, unknown
    message_id: int
    modem_reference: int | None = None
    parts: int | None = None
    error_code: str | None = None
    error_message: str | None = None


class Backoff:
    def __init__(self, first: float, maximum: float) -> None:
        self.first = first
        self.maximum = maximum
        self.current = first

    def next(self) -> float:
        value = self.current
        self.current = min(self.current * 2, self.maximum)
        return value

    def reset(self) -> None:
        self.current = self.first


class Bridge:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.bridge_id = config.bridge_id or f"{socket.gethostname()}:{config.port}"
        self.db = Database(config.database_url, self.bridge_id)
        self.channel = AtChannel(config.port, config.baud)
        self.modem = Modem(
            self.channel,
            config.pin,
            Timeouts(
                command=config.command_timeout,
                prompt=config.prompt_timeout,
                send=config.send_timeout,
                list=max(config.command_timeout, 30.0),
            ),
        )
        self.inventory = SimInventory()
        self.poll_seconds = config.poll_seconds or 30.0
        self.multipart_timeout = config.multipart_timeout_seconds or 900.0
        self.modem_ready = False
        self.modem_state = "starting"
        self.signal: int | None = None
        self.last_error: str | None = None
        self.pending: list[Result] = []
        self.received_delta = 0
        self.sent_delta = 0
        self.received_total = 0
        self.sent_total = 0
        self.recorded_late = 0  # send results recorded after the database came back
        self.read_queue: set[int] = set()
        self.unreadable: dict[int, str] = {}  # slot -> why it could not be read intact
        self.store_blocked: dict[tuple[int, ...], float] = {}
        self._direct = 0
        self._timeouts_in_row = 0
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        now = time.monotonic()
        self.next_scan = now
        self.next_heartbeat = now
        self.next_outbound = now
        self.modem_retry_at = now
        self.db_retry_at = now
        self.modem_backoff = Backoff(0.5, config.reopen_max_seconds)
        self.db_backoff = Backoff(0.5, config.db_retry_max_seconds)

    # -- control --------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the loop to finish the current step and stop (safe from a signal handler)."""
        self._stop = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"s")

    @property
    def stopping(self) -> bool:
        return self._stop

    def _error(self, text: str) -> None:
        self.last_error = text[:500]
        log.warning("%s", text)

    # -- main loop -------------------------------------------------------------------------------

    def run(self) -> int:
        rc = self._start_database()
        if rc is not None:
            self._close()
            return rc
        log.info(
            "bridge %s on %s: poll every %gs, multipart timeout %gs",
            self.bridge_id,
            self.config.port,
            self.poll_seconds,
            self.multipart_timeout,
        )
        while not self._stop:
            self.step()
            if not self._stop:
                self._wait()
        self._shutdown()
        return EXIT_OK

    def step(self) -> None:
        """One pass over everything that is due."""
        try:
            if not self.db.connected and time.monotonic() >= self.db_retry_at:
                self._reconnect_database()
            if self.db.connected and self.pending:
                self._flush_pending()
            if not self.modem_ready and time.monotonic() >= self.modem_retry_at:
                self._bring_up_modem()
            if self.modem_ready:
                self.channel.poll(0)
                self._handle_urcs()
                self._inbound()
                self._outbound()
                self._timeouts_in_row = 0
            self._heartbeat_if_due()
        except PortLost as exc:
            self._port_lost(exc)
        except AtTimeout as exc:
            self._modem_timeout(exc)
        except AtError as exc:
            self._error(f"modem refused {exc.command}: {exc.text}")
            self._modem_down("error", retry_in=1.0, close=False)
        except SimError as exc:
            self._sim_error(exc)
        except DatabaseDown as exc:
            self._database_down(exc)
        except (DatabaseError, NotInstalled) as exc:
            # The database answered but refused a call: report it and try again later rather
            # than in a tight loop.
            self._error(f"database refused a call: {exc}")
            later = time.monotonic() + min(self.poll_seconds, 5.0)
            self.next_outbound = max(self.next_outbound, later)
            self.next_heartbeat = max(self.next_heartbeat, later)

    def _wait(self) -> None:
        # A NOTIFY that arrived while another query ran was read off the socket with that
        # query's answer and waits in the connection's buffer: select() would not see it.
        if self.db.connected:
            try:
                if self.db.drain_notifications():
                    self.next_outbound = time.monotonic()
                    return
            except DatabaseDown as exc:
                self._database_down(exc)
                return
        timeout = self.wait_timeout()
        fds = [self._wake_r]
        serial_fd = self.channel.fileno() if self.modem_ready else None
        db_fd = self.db.fileno()
        for fd in (serial_fd, db_fd):
            if fd is not None:
                fds.append(fd)
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except (OSError, ValueError) as exc:
            if getattr(exc, "errno", None) != errno.EINTR:
                log.debug("select failed: %s", exc)
            return
        if self._wake_r in readable:
            try:
                while os.read(self._wake_r, 64):
                    pass
            except BlockingIOError:
                pass
        if db_fd is not None and db_fd in readable:
            try:
                if self.db.drain_notifications():
                    self.next_outbound = time.monotonic()
            except DatabaseDown as exc:
                self._database_down(exc)

    def wait_timeout(self) -> float:
        """Seconds the loop may sleep (unless woken by the port, a NOTIFY or a signal).
        Only deadlines whose work the next step can actually do count; anything else would
        turn a past deadline into a busy loop."""
        now = time.monotonic()
        deadlines = [now + 5.0]
        if self.db.connected:
            deadlines.append(self.next_heartbeat)
        else:
            deadlines.append(self.db_retry_at)
        if self.modem_ready:
            deadlines.append(self.next_scan)
            if self.db.connected and not self.pending:
                deadlines.append(self.next_outbound)
                expiry = self.inventory.next_expiry(self.multipart_timeout)
                if expiry is not None:
                    # Past: that message is waiting for the database to accept it; look again soon.
                    deadlines.append(expiry if expiry > now else now + 1.0)
            if self.channel.pending() or self.read_queue:
                deadlines.append(now)
        else:
            deadlines.append(self.modem_retry_at)
        return max(0.0, min(deadlines) - now)

    # -- database -----------------------------------------------------------------------------------

    def _start_database(self) -> int | None:
        """Connect and say hello; retry while the database is unreachable. Returns an exit code
        when the bridge must not run, None when it may."""
        while not self._stop:
            try:
                self.db.connect()
                self.db.check_installed()
                info = self.db.hello(socket.gethostname(), self.config.port, __version__)
            except NotInstalled as exc:
                log.error("refusing to run: %s", exc)
                return EXIT_NOT_INSTALLED
            except DatabaseError as exc:
                if exc.sqlstate != LOCK_NOT_AVAILABLE:
                    log.error("refusing to run: the database refused bridge_hello: %s", exc)
                    return EXIT_NOT_INSTALLED
                # A previous session of this bridge is still open (a half-dead connection, or a
                # second bridge with the same identity): wait rather than run beside it.
                self.db.close()
                delay = self.db_backoff.next()
                self._error(f"{exc}; retrying in {delay:.1f}s")
                self._sleep(delay)
                continue
            except DatabaseDown as exc:
                delay = self.db_backoff.next()
                log.warning("database unavailable (%s); retrying in %.1fs", exc, delay)
                self._sleep(delay)
                continue
            self.db_backoff.reset()
            if self.config.poll_seconds is None:
                self.poll_seconds = info.poll_seconds
            if self.config.multipart_timeout_seconds is None:
                self.multipart_timeout = info.multipart_timeout_seconds
            log.info(
                "database holds conductor %s; listening on %s", info.package_version, info.notify_channel
            )
            if self.config.prompt_timeout + self.config.send_timeout > info.lease_seconds:
                log.warning(
                    "a send may take longer (%gs) than the database's send lease (%gs): a slow send can "
                    "be reported outcome_unknown before its answer arrives",
                    self.config.prompt_timeout + self.config.send_timeout,
                    info.lease_seconds,
                )
            return None
        return EXIT_OK

    def _reconnect_database(self) -> None:
        try:
            self.db.connect()
        except DatabaseDown as exc:
            delay = self.db_backoff.next()
            self.db_retry_at = time.monotonic() + delay
            log.warning("database still unavailable (%s); retrying in %.1fs", exc, delay)
            return
        self.db_backoff.reset()
        log.info("database connection restored")
        # Notifications sent while we were away are lost: look at the queue now.
        now = time.monotonic()
        self.next_outbound = now
        self.next_heartbeat = now

    def _database_down(self, exc: Exception) -> None:
        self.db.close()
        delay = self.db_backoff.next()
        self.db_retry_at = time.monotonic() + delay
        self._error(f"database connection lost: {exc}")

    def _record(self, result: Result) -> None:
        """Record a send result; keep it for later if the database is away."""
        try:
            self._apply(result)
        except DatabaseDown:
            self.pending.append(result)
            raise

    def _apply(self, result: Result) -> None:
        try:
            if result.kind == "sent":
                self.db.mark_sent(result.message_id, result.modem_reference or 0, result.parts or 1)
                log.info(
                    "message %d sent (%d part(s), mr %s)",
                    result.message_id,
                    result.parts,
                    result.modem_reference,
                )
            elif result.kind == "failed":
                status = self.db.mark_failed(
                    result.message_id, result.error_code or "CMS:500", result.error_message or ""
                )
                log.warning(
                    "message %d not sent: %s %s -> %s",
                    result.message_id,
                    result.error_code,
                    result.error_message,
                    status,
                )
            else:
                self.db.mark_unknown(result.message_id, result.error_message or "no answer")
                log.warning("message %d outcome unknown: %s", result.message_id, result.error_message)
        except DatabaseError as exc:
            # The SQL side refused the report (for example the message is no longer ours).
            # Nothing the bridge can do about it except make it visible.
            self._error(f"could not record {result.kind} for message {result.message_id}: {exc}")

    def _flush_pending(self) -> None:
        while self.pending:
            result = self.pending[0]
            self._apply(result)  # DatabaseDown propagates and keeps the rest
            self.pending.pop(0)
            self.recorded_late += 1
            log.info(
                "recorded the %s result of message %d after reconnecting", result.kind, result.message_id
            )

    # -- modem -------------------------------------------------------------------------------------------

    def _bring_up_modem(self) -> None:
        try:
            if not self.channel.is_open:
                self.modem_state = "opening"
                self.channel.open()
                log.info("opened %s", self.config.port)
            self.modem_state = "initialising"
            self.modem.initialize()
            self.signal = self.modem.signal()
        except PortLost as exc:
            self._modem_down("port_missing", str(exc))
            return
        except AtTimeout as exc:
            self._modem_down("no_answer", f"modem does not answer during initialisation: {exc}")
            return
        except AtError as exc:
            self._modem_down("init_error", f"modem refused {exc.command}: {exc.text}")
            return
        except SimError as exc:
            self._sim_error(exc)
            return
        self.modem_ready = True
        self.modem_state = "ready"
        self.modem_backoff.reset()
        self._timeouts_in_row = 0
        now = time.monotonic()
        self.next_scan = now  # read what arrived while we were away
        self.next_heartbeat = now
        self.next_outbound = now

    def _modem_down(
        self, state: str, error: str | None = None, retry_in: float | None = None, close: bool = True
    ) -> None:
        if close:
            self.channel.close()
        self.modem_ready = False
        self.modem_state = state
        self.signal = None
        if error:
            self._error(error)
        delay = retry_in if retry_in is not None else self.modem_backoff.next()
        self.modem_retry_at = time.monotonic() + delay
        self.next_heartbeat = min(self.next_heartbeat, time.monotonic())

    def _port_lost(self, exc: Exception) -> None:
        self._modem_down("port_missing", f"serial port lost: {exc}")

    def _modem_timeout(self, exc: Exception) -> None:
        """A command got no answer: resynchronise; if the modem stays silent, initialise it
        again on the open port; if that fails too, the port is reopened (_bring_up_modem)."""
        self._timeouts_in_row += 1
        self._error(f"modem did not answer in time: {exc}")
        try:
            self.channel.resync(timeout=min(3.0, self.config.command_timeout))
        except PortLost as lost:
            self._port_lost(lost)
            return
        except AtTimeout:
            self._modem_down(
                "no_answer", "modem silent after resynchronisation: initialising again", 0.0, close=False
            )
            return
        if self._timeouts_in_row >= 3:
            self._modem_down("no_answer", "repeated timeouts: initialising the modem again", 0.0, close=False)

    def _sim_error(self, exc: SimError) -> None:
        if "refused the PIN" in str(exc):
            self.modem.pin = None  # never try a wrong PIN twice (the SIM would lock to PUK)
        self._modem_down("sim_error", str(exc), retry_in=self.config.reopen_max_seconds)

    def _handle_urcs(self) -> None:
        while self.channel.urcs:
            urc = self.channel.urcs.popleft()
            if urc.name == "+CMTI":
                memory, _, index = urc.args.partition(",")
                memory = memory.strip().strip('"')
                if index.strip().isdigit() and memory in ("", self.modem.memory):
                    self.read_queue.add(int(index))
                else:
                    log.info("new message in %s storage (%s): scanning", memory, urc.line)
                    self.next_scan = time.monotonic()
            elif urc.name in ("+CMT", "+CDS") and urc.pdu:
                if urc.name == "+CMT":
                    # Routed straight to us instead of stored: keep it in memory until stored.
                    # There is no copy to read again, so a damaged one is reported, not stored.
                    length = urc.args.rpartition(",")[2].strip()
                    problem = pdu_problem(urc.pdu, int(length) if length.isdigit() else None)
                    if problem is not None:
                        self._error(f"a message routed to the bridge (+CMT) arrived damaged: {problem}")
                        continue
                    self._direct += 1
                    self.inventory.add(-self._direct, urc.pdu, time.monotonic())
            else:
                log.debug("unsolicited: %s", urc.line)

    # -- inbound -------------------------------------------------------------------------------------

    def _read_slot(self, index: int, first: StoredPdu | None = None) -> StoredPdu | None:
        """The slot read intact (AT+CMGR, at most READ_ATTEMPTS reads, `first` counting as one),
        None when it is empty, or the last damaged read when every read was damaged."""
        stored, attempts = first, 1
        if stored is None:
            stored = self.modem.read(index)
        while stored is not None and not stored.intact:
            log.warning("slot %d: read %d of %d damaged (%s)", index, attempts, READ_ATTEMPTS, stored.problem)
            if attempts >= READ_ATTEMPTS:
                break
            stored = self.modem.read(index)
            attempts += 1
        return stored

    def _unreadable(self, slots: dict[int, str]) -> None:
        """Leave slots that stay damaged on the SIM, say so (log and the health row's last_error),
        and read them again at the next scan."""
        if not slots:
            return
        self.unreadable.update(slots)
        self.inventory.forget(list(slots))
        details = "; ".join(f"slot {index}: {problem}" for index, problem in sorted(slots.items()))
        self._error(
            f"SIM slot(s) {', '.join(str(i) for i in sorted(slots))} could not be read intact in "
            f"{READ_ATTEMPTS} reads, kept on the SIM and read again at the next scan ({details})"
        )

    def _inbound(self) -> None:
        now = time.monotonic()
        while self.read_queue and not self._stop:
            index = min(self.read_queue)
            stored = self._read_slot(index)
            self.read_queue.discard(index)
            if stored is None:
                self.inventory.forget([index])
                self.unreadable.pop(index, None)
            elif not stored.intact:
                self._unreadable({index: stored.problem or "damaged"})
            else:
                self.unreadable.pop(index, None)
                if self._is_received(stored.stat, stored.pdu):
                    self.inventory.add(index, stored.pdu, now, stored.length)
        storage_full = False
        if now >= self.next_scan:
            listing = self.modem.list_all()
            if self.modem.unattributed:
                self._error(
                    f"AT+CMGL=4 answered {len(self.modem.unattributed)} line(s) that belong to no "
                    f"message (a header lost to line noise?): {self.modem.unattributed!r}; listing "
                    f"again at the next scan"
                )
            received: list[tuple[int, str, int | None]] = []
            unreadable: dict[int, str] = {}
            for item in listing:
                stored = item if item.intact else self._read_slot(item.index, item)
                if stored is None:
                    continue
                if not stored.intact:
                    unreadable[item.index] = stored.problem or "damaged"
                elif self._is_received(stored.stat, stored.pdu):
                    received.append((stored.index, stored.pdu, stored.length))
            self.inventory.replace_all(received, now)
            self.unreadable = {}
            self._unreadable(unreadable)
            storage_full = bool(self.modem.capacity) and len(listing) >= self.modem.capacity
            self.next_scan = now + self.poll_seconds
            self.read_queue.clear()
        if not self.db.connected:
            return
        self._drop_parts_already_stored()
        for message in self.inventory.ready(now, self.multipart_timeout, storage_full):
            if self._stop:
                return
            blocked = self.store_blocked.get(message.indexes)
            if blocked is not None and now < blocked:
                continue
            try:
                message_id, is_new = self.db.store_inbound(
                    message.sender,
                    message.text,
                    message.timestamp,
                    message.modem_index if message.modem_index >= 0 else None,
                    message.parts,
                    message.part_hashes,
                )
            except DatabaseError as exc:
                # Kept on the SIM; tried again after a poll interval.
                self.store_blocked[message.indexes] = now + self.poll_seconds
                self._error(f"database refused inbound message from {message.sender}: {exc}")
                continue
            self.store_blocked.pop(message.indexes, None)
            # Committed: now the slots may go.
            for index in message.indexes:
                if index >= 0:
                    self.modem.delete(index)
            self.inventory.forget(message.indexes)
            if is_new:
                self.received_delta += 1
                self.received_total += 1
            log.info(
                "inbound from %s stored as message %s%s (%d part(s)%s)",
                message.sender,
                message_id if message_id is not None else "(not a phone number)",
                "" if is_new else " (already stored)",
                message.parts,
                "" if message.complete else ", incomplete",
            )

    def _drop_parts_already_stored(self) -> None:
        """Delete parts of incomplete groups whose message is already committed: what a crash
        between the commit and the last CMGD left on the SIM. Each slot is asked about once."""
        unchecked = self.inventory.unchecked_parts()
        if not unchecked:
            return
        try:
            stored = self.db.stored_parts(sorted(unchecked))
        except DatabaseError as exc:
            self._error(f"could not check leftover message parts: {exc}")
            return
        leftovers = sorted(unchecked[h] for h in stored)
        for index in leftovers:
            self.modem.delete(index)
        self.inventory.forget(leftovers)
        self.inventory.mark_checked(set(unchecked.values()))
        if leftovers:
            log.info(
                "deleted %d part(s) of messages already stored, left on the SIM by a crash", len(leftovers)
            )

    @staticmethod
    def _is_received(stat: int, pdu_hex: str) -> bool:
        """Whether an intact read is an SMS-DELIVER the network stored for us."""
        if stat not in (STAT_REC_UNREAD, STAT_REC_READ):
            return False  # stored outgoing messages are not ours
        return pdu.pdu_type(pdu_hex) == 0  # SMS-DELIVER (not a status report)

    # -- outbound -------------------------------------------------------------------------------------

    def _outbound(self) -> None:
        if not self.db.connected or self.pending or time.monotonic() < self.next_outbound:
            return
        for _ in range(self.config.max_sends_per_pass):
            if self._stop:
                return
            claimed = self.db.claim_outbound()
            if claimed is None:
                self._schedule_next_due()
                return
            self._send(claimed)
            # Keep inbound notices flowing between sends.
            self.channel.poll(0)
            self._handle_urcs()
        self.next_outbound = time.monotonic()  # more may be due; inbound gets a turn first

    def _schedule_next_due(self) -> None:
        delay = self.poll_seconds
        until = self.db.seconds_until_next_due()
        if until is not None:
            delay = min(delay, max(until, 0.05))
        self.next_outbound = time.monotonic() + delay

    def _send(self, claimed: Claimed) -> None:
        log.info("sending message %d (attempt %d)", claimed.message_id, claimed.attempt)
        try:
            pdus = pdu.encode_submit(
                claimed.phone_number, claimed.content, reference=claimed.message_id & 0xFF
            )
        except (pdu.EncodeError, gsm7.EncodeError) as exc:
            self._record(
                Result("failed", claimed.message_id, error_code="encode_error", error_message=str(exc))
            )
            return
        total = len(pdus)
        reference = None
        for number, part in enumerate(pdus, start=1):
            try:
                reference = self.modem.send(part.tpdu_length, part.hex)
            except SendFailed as exc:
                if number == 1:
                    result = Result(
                        "failed", claimed.message_id, error_code=exc.code, error_message=exc.message
                    )
                else:
                    result = Result(
                        "unknown",
                        claimed.message_id,
                        error_message=(
                            f"part {number} of {total} not sent ({exc.code}: {exc.message}) after "
                            f"{number - 1} part(s) were submitted"
                        ),
                    )
                self._record(result)
                if exc.port_lost:
                    raise PortLost(exc.message) from None
                if exc.code == "no_prompt":
                    raise AtTimeout(exc.message) from None
                return
            except SendUnknown as exc:
                self._record(
                    Result(
                        "unknown", claimed.message_id, error_message=f"part {number} of {total}: {exc.reason}"
                    )
                )
                if exc.port_lost:
                    raise PortLost(exc.reason) from None
                raise AtTimeout(exc.reason) from None
        self._record(Result("sent", claimed.message_id, modem_reference=reference, parts=total))
        self.sent_delta += 1
        self.sent_total += 1

    # -- health --------------------------------------------------------------------------------------

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now < self.next_heartbeat or not self.db.connected:
            return
        if self.modem_ready:
            self.signal = self.modem.signal()
        received, sent, error = self.received_delta, self.sent_delta, self.last_error
        self.db.heartbeat(self.modem_state, self.modem.model, self.signal, error, received, sent)
        self.received_delta -= received
        self.sent_delta -= sent
        if self.last_error == error:
            self.last_error = None
        self.next_heartbeat = now + self.config.heartbeat_seconds

    # -- shutdown -------------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        try:
            select.select([self._wake_r], [], [], seconds)
        except (OSError, ValueError):
            time.sleep(min(seconds, 0.1))

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        while self.pending and time.monotonic() < deadline:
            try:
                if not self.db.connected:
                    self.db.connect()
                self._flush_pending()
            except DatabaseDown:
                self.db.close()
                time.sleep(0.5)
        if self.pending:
            log.error(
                "stopping with %d unrecorded send result(s): %s (the database will report them as "
                "outcome_unknown)",
                len(self.pending),
                ", ".join(f"message {r.message_id} {r.kind}" for r in self.pending),
            )
        try:
            if self.db.connected:
                self.db.heartbeat(
                    "stopped",
                    self.modem.model,
                    self.signal,
                    self.last_error,
                    self.received_delta,
                    self.sent_delta,
                )
        except (DatabaseDown, DatabaseError):
            pass
        self._close()
        log.info("bridge stopped (received %d, sent %d)", self.received_total, self.sent_total)

    def _close(self) -> None:
        self.channel.close()
        self.db.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
