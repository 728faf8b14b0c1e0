"""SMS operations of a 27.005 modem in PDU mode, on top of an AtChannel: the init sequence,
listing, reading and deleting stored messages by index, and sending PDUs.

A message read from storage is checked before anyone may trust it: exactly one PDU line after
its +CMGL/+CMGR header, even hex, exactly the TPDU octets the header's <length> announces and,
for an SMS-DELIVER, user data as long as its user data length says. Line noise that cuts a PDU
line in two, or swallows part of it, would otherwise pass a prefix of the text off as the whole
text. A read that fails the check carries a `problem` and is read again, never stored."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

from conductor_bridge import pdu
from conductor_bridge.at import AtChannel, AtError, AtTimeout

log = logging.getLogger("conductor_bridge.modem")

_CPMS_RE = re.compile(r"^\+CPMS:\s*(\d+)\s*,\s*(\d+)")
_CPMS_QUERY_RE = re.compile(r'^\+CPMS:\s*"([^"]*)"\s*,\s*(\d+)\s*,\s*(\d+)')
# +CMGL: <index>,<stat>,[<alpha>],<length> and +CMGR: <stat>,[<alpha>],<length> (27.005 3.4.2,
# 3.4.3 in PDU mode); <length> is the TPDU length in octets, the SMSC field not counted.
_ALPHA = r'(?:"[^"]*"|[^,"]*)'
_LIST_RE = re.compile(rf"^\+CMGL:\s*(\d+)\s*,\s*(\d+)\s*,\s*{_ALPHA}\s*,\s*(\d+)\s*$")
_READ_RE = re.compile(rf"^\+CMGR:\s*(\d+)\s*,\s*{_ALPHA}\s*,\s*(\d+)\s*$")
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")

# <stat> values in PDU mode (27.005 3.1).
STAT_REC_UNREAD = 0
STAT_REC_READ = 1


class SimError(Exception):
    """The SIM is locked and no (or a wrong) PIN was given, or it is missing."""


@dataclass(frozen=True)
class StoredPdu:
    """One message in the modem's storage, as one read returned it. `problem` says why that read
    cannot be trusted (the PDU came cut, split over lines or without its header); None when it
    passed every check."""

    index: int
    stat: int
    pdu: str
    length: int | None = None  # <length> of the header: TPDU octets
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass
class Timeouts:
    command: float = 10.0
    prompt: float = 10.0
    send: float = 60.0
    list: float = 30.0


class Modem:
    """The SMS side of one modem."""

    def __init__(self, channel: AtChannel, pin: str | None = None, timeouts: Timeouts | None = None) -> None:
        self.channel = channel
        self.pin = pin
        self.timeouts = timeouts or Timeouts()
        self.model: str | None = None
        self.memory = "SM"
        self.used = 0
        self.capacity = 0
        self.unattributed: list[str] = []

    def at(self, command: str, timeout: float | None = None, prefix: str | None = None) -> list[str]:
        return self.channel.command(command, timeout or self.timeouts.command, prefix)

    def initialize(self) -> None:
        """Bring the modem into the state the bridge relies on. Raises AtTimeout, AtError,
        SimError, PortLost."""
        # A modem left in a '> ' prompt (an earlier run died mid-send) swallows commands.
        self.channel.write(b"\x1b")
        time.sleep(0.05)
        answered = False
        for _ in range(3):
            try:
                self.at("AT", timeout=min(2.0, self.timeouts.command))
                answered = True
                break
            except AtTimeout:
                continue
            except AtError:
                answered = True
                break
        if not answered:
            raise AtTimeout("modem does not answer AT")
        self.at("ATE0")
        self.at("AT+CMEE=1")
        self._unlock_sim()
        self.at("AT+CMGF=0")
        self._select_storage()
        self._enable_notices()
        try:
            lines = self.at("AT+CGMM")
            self.model = lines[0] if lines else None
        except AtError:
            self.model = None
        log.info(
            "modem ready: model %s, storage %s %d/%d",
            self.model or "?",
            self.memory,
            self.used,
            self.capacity,
        )

    def _unlock_sim(self) -> None:
        state = self._pin_state()
        if state == "READY":
            return
        if state == "SIM PIN":
            if not self.pin:
                raise SimError("the SIM asks for a PIN and none was given (--pin or CONDUCTOR_SIM_PIN)")
            try:
                self.at(f'AT+CPIN="{self.pin}"', timeout=20.0)
            except AtError as exc:
                raise SimError(
                    f"the SIM refused the PIN ({exc.code}); not retrying, to avoid a PUK lock"
                ) from None
            deadline = time.monotonic() + 20.0
            while time.monotonic() < deadline:
                if self._pin_state() == "READY":
                    return
                time.sleep(0.5)
            raise SimError("the SIM did not become ready after the PIN")
        raise SimError(f"the SIM is not ready: {state}")

    def _pin_state(self) -> str:
        try:
            lines = self.at("AT+CPIN?", prefix="+CPIN:")
        except AtError as exc:
            if exc.code in ("CME:10", "CMS:310"):
                raise SimError("no SIM inserted") from None
            raise
        for line in lines:
            if line.startswith("+CPIN:"):
                return line.split(":", 1)[1].strip().upper()
        return "UNKNOWN"

    def _select_storage(self) -> None:
        last: AtError | None = None
        for memory in ("SM", "ME", "MT"):
            try:
                lines = self.at(f'AT+CPMS="{memory}","{memory}","{memory}"', prefix="+CPMS:")
            except AtError as exc:
                last = exc
                continue
            self.memory = memory
            self._read_cpms_counts(lines)
            return
        raise last or AtError("AT+CPMS", "ERROR", "no message storage")

    def _read_cpms_counts(self, lines: list[str]) -> None:
        for line in lines:
            m = _CPMS_RE.match(line)
            if m:
                self.used, self.capacity = int(m.group(1)), int(m.group(2))
                return

    def refresh_storage(self) -> tuple[int, int]:
        """(used, capacity) of the read storage."""
        for line in self.at("AT+CPMS?", prefix="+CPMS:"):
            m = _CPMS_QUERY_RE.match(line)
            if m:
                self.used, self.capacity = int(m.group(2)), int(m.group(3))
        return self.used, self.capacity

    def _enable_notices(self) -> None:
        # mode 2: buffer notices while the link is busy and flush them after; mt 1: store the SMS
        # and send +CMTI; no broadcast or status-report routing.
        for setting in ("2,1,0,0,0", "1,1,0,0,0", "2,1"):
            try:
                self.at(f"AT+CNMI={setting}")
                return
            except AtError:
                continue
        log.warning("the modem accepts no AT+CNMI setting: relying on the AT+CMGL backstop only")

    def signal(self) -> int | None:
        """RSSI 0-31 (99 = unknown) from AT+CSQ."""
        for line in self.at("AT+CSQ", prefix="+CSQ:"):
            if line.startswith("+CSQ:"):
                value = line.split(":", 1)[1].split(",", 1)[0].strip()
                if value.isdigit():
                    return int(value)
        return None

    def list_all(self) -> list[StoredPdu]:
        """Every stored message (AT+CMGL=4). Listing marks unread messages read; nothing is deleted.
        A message whose PDU did not come through intact is listed with its `problem`; lines that
        belong to no header (a header line lost to noise) are kept in `unattributed`."""
        lines = self.at("AT+CMGL=4", timeout=self.timeouts.list, prefix="+CMGL:")
        items, self.unattributed = _parse_listing(lines, _LIST_RE, with_index=True)
        if self.unattributed:
            log.warning(
                "AT+CMGL=4: %d line(s) outside any message: %r", len(self.unattributed), self.unattributed
            )
        return items

    def read(self, index: int) -> StoredPdu | None:
        """The message at index, or None when the slot is empty. An answer that does not hold
        exactly one intact message comes back with its `problem`."""
        try:
            lines = self.at(f"AT+CMGR={index}", prefix="+CMGR:")
        except AtError as exc:
            if exc.code in ("CMS:321", "CMS:320", "CME:21", "CME:22"):
                return None  # empty or invalid index
            raise
        if not lines:
            return None  # some modems answer a bare OK for an empty slot
        items, unattributed = _parse_listing(lines, _READ_RE, with_index=False)
        if len(items) == 1 and not unattributed:
            item = items[0]
            return StoredPdu(index, item.stat, item.pdu, item.length, item.problem)
        if len(items) == 1:
            problem = f"lines before the +CMGR header: {unattributed!r}"
        elif items:
            problem = f"{len(items)} +CMGR headers in one answer"
        else:
            problem = f"no +CMGR header in the answer: {unattributed!r}"
        first = items[0] if items else StoredPdu(index, -1, "")
        return StoredPdu(index, first.stat, first.pdu, first.length, problem[:300])

    def delete(self, index: int) -> None:
        """Delete one stored message by index (never a bulk delete)."""
        try:
            self.at(f"AT+CMGD={index}")
        except AtError as exc:
            if exc.code == "CMS:321":
                return  # already empty
            raise

    def send(self, tpdu_length: int, pdu_hex: str) -> int:
        return self.channel.send_pdu(tpdu_length, pdu_hex, self.timeouts.prompt, self.timeouts.send)


def _parse_listing(
    lines: list[str], header_re: re.Pattern[str], with_index: bool
) -> tuple[list[StoredPdu], list[str]]:
    """(messages, lines outside any message) of a +CMGL/+CMGR answer. Every line after a header
    up to the next header belongs to that header's message, so a fragment of a PDU is never taken
    for another message or dropped unseen: a message with no PDU line, more than one or anything
    else after its header comes with a `problem`."""
    out: list[StoredPdu] = []
    outside: list[str] = []
    header: tuple[int, int, int] | None = None
    body: list[str] = []

    def close() -> None:
        if header is not None:
            out.append(_stored(header, body))

    for line in lines:
        m = header_re.match(line)
        if m:
            close()
            groups = [int(g) for g in m.groups()]
            header = (groups[0], groups[1], groups[2]) if with_index else (-1, groups[0], groups[1])
            body = []
        elif header is not None:
            body.append(line)
        else:
            outside.append(line)
    close()
    return out, outside


def _stored(header: tuple[int, int, int], body: list[str]) -> StoredPdu:
    index, stat, length = header
    if not body:
        return StoredPdu(index, stat, "", length, "no PDU line after the header")
    if len(body) > 1:
        return StoredPdu(index, stat, "".join(body), length, f"PDU came in {len(body)} lines: {body!r}"[:300])
    return StoredPdu(index, stat, body[0], length, pdu_problem(body[0], length))


def pdu_problem(pdu_hex: str, length: int | None) -> str | None:
    """Why a PDU read from storage cannot be the whole PDU, or None: not hex, an odd number of
    digits, not `length` TPDU octets, or (an SMS-DELIVER) fields or user data cut short."""
    if not _HEX_RE.match(pdu_hex):
        return "PDU line is not hex"
    try:
        if pdu.pdu_type(pdu_hex, length=length) == 0:
            pdu.decode_deliver(pdu_hex, length=length)
    except pdu.PduError as exc:
        return str(exc)
    return None
