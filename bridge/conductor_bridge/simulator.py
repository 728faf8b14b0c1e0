"""A GSM modem simulator on a pseudo-terminal, speaking 3GPP TS 27.005 in PDU mode.

It stands in for a USB modem in tests and benchmarks: the bridge opens the pty slave (through a
stable symlink, like /dev/serial/by-id/...) and talks real AT syntax to it.

Behaviour: echo on after power-up (ATE0/ATE1), OK/ERROR, AT+CMEE (0/1/2), AT+CPIN (optional SIM
PIN), AT+CMGF, AT+CPMS with per-memory storage and capacity, AT+CNMI (mt=1: store and send
+CMTI), AT+CMGL=<stat>, AT+CMGR, AT+CMGD (with delete flags), AT+CMGS with the '> ' prompt,
Ctrl-Z to submit and ESC to abort, '+CMGS: <mr>', AT+CSQ, AT+CGMM/CGMI/CGSN/CIMI, AT+CSCA?,
AT+CREG?. Messages from the "network" wait while the storage is full, as a network holds them.

Control API for tests (thread-safe): `inject()` / `inject_pdu()` an inbound SMS (long texts as
concatenated parts, optionally out of order or with parts withheld), `sent` / `sent_messages()`
(every submitted PDU, decoded), `stored()`, faults (`add_fault`: lost reply, delayed reply,
+CMS/+CME ERROR, garbage or a URC inside a response, for any command; a PDU line of an
AT+CMGL/AT+CMGR answer split in two or cut short, as line noise does; for AT+CMGS at the command
stage or after Ctrl-Z), `send_garbage()`, `set_silent()`, `unplug()` / `replug()` (the pty
disappears and a new one appears at the same symlink path), and `instant` mode (no network
delays) for benchmarks.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import errno
import os
import random
import re
import select
import signal
import sys
import tempfile
import threading
import time
import tty
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from conductor_bridge import pdu

CR = b"\r"
CTRL_Z = 0x1A
ESC = 0x1B


@dataclass(frozen=True)
class SentPdu:
    """One SMS-SUBMIT the modem accepted after Ctrl-Z."""

    pdu_hex: str
    submit: pdu.Submit
    reference: int
    at: float

    @property
    def recipient(self) -> str:
        return self.submit.recipient.value

    @property
    def text(self) -> str:
        return self.submit.text


@dataclass(frozen=True)
class SentMessage:
    """Submitted parts joined into the message they form."""

    recipient: str
    text: str
    parts: int
    references: tuple[int, ...]
    complete: bool
    sequences: tuple[int, ...] = (1,)  # part numbers that were submitted


@dataclass
class Fault:
    """A fault for the next `times` commands starting with `command` (upper case)."""

    command: str
    action: str  # drop, delay, cms, cme, error, urc, garbage, split, cut
    value: object = None
    times: int = 1
    stage: str = "command"  # for AT+CMGS: "command" (before the prompt) or "submit" (after Ctrl-Z)
    skip: int = 0  # let this many matching commands pass first


@dataclass
class _Pending:
    urc_inside: str | None = None  # deliver the +CMTI inside the next response to this command
    urc_after: str | None = None  # ... or right after its final result code, in the same write


@dataclass
class _Settings:
    echo: bool = True
    cmee: int = 0
    cmgf: int = 0
    cnmi: tuple[int, ...] = (0, 0, 0, 0, 0)
    cpms: list[str] = field(default_factory=lambda: ["SM", "SM", "SM"])
    pin_ok: bool = True


class ModemSimulator:
    """A 27.005 modem on a pty. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        link: str | os.PathLike[str] | None = None,
        *,
        capacity: int = 30,
        memories: tuple[str, ...] = ("SM", "ME"),
        instant: bool = False,
        network_delay: float = 0.02,
        pin: str | None = None,
        model: str = "CONDUCTOR-SIM 27.005",
        signal: int = 21,
        seed: int | None = None,
    ) -> None:
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if link is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="conductor-sim-")
            link = Path(self._tmpdir.name) / "ttyCONDUCTOR0"
        self.path = str(link)
        self.capacity = {m: capacity for m in memories}
        self.instant = instant
        self.network_delay = 0.0 if instant else network_delay
        self.pin = pin
        self.model = model
        self.signal = signal
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._settings = self._power_on_settings()
        self._storage: dict[str, dict[int, list]] = {m: {} for m in memories}
        self._network: collections.deque[tuple[str, _Pending]] = collections.deque()
        self._out: bytearray = bytearray()
        self._scheduled: list[tuple[float, bytes]] = []
        self._inbuf = bytearray()
        self._pdu_mode: tuple[int, float] | None = None  # (announced length, since) while in '> '
        self._pending_urcs: list[tuple[str, str, bool]] = []  # (command prefix, urc line, after final)
        self._next_mr = 0
        self.faults: list[Fault] = []
        self.sent: list[SentPdu] = []
        self.commands: list[str] = []
        self.bulk_deletes = 0
        self.deleted: list[int] = []
        self.silent = False
        self.plugged = False
        self.garbage_probability = 0.0
        self.drop_urcs = False  # store new messages without +CMTI (a lost notice)

    # -- lifecycle ------------------------------------------------------------------------------

    def _power_on_settings(self) -> _Settings:
        return _Settings(pin_ok=self.pin is None)

    def start(self) -> ModemSimulator:
        with self._lock:
            self._plug()
            self._running = True
        self._thread = threading.Thread(target=self._run, name="modem-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._unplug()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()

    def __enter__(self) -> ModemSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)
        self.plugged = True
        self._settings = self._power_on_settings()
        self._inbuf.clear()
        self._out.clear()
        self._scheduled.clear()
        self._pdu_mode = None

    def _unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self.plugged = False

    def unplug(self) -> None:
        """The USB device goes away: the pty is closed and the symlink removed."""
        with self._lock:
            self._unplug()

    def replug(self) -> None:
        """The device comes back (powered up afresh, SIM contents kept) at the same path."""
        with self._lock:
            if not self.plugged:
                self._plug()

    # -- control API ----------------------------------------------------------------------------

    def inject(
        self,
        sender: str,
        text: str,
        timestamp: datetime | None = None,
        *,
        reference: int | None = None,
        iei: int = pdu.IEI_CONCAT_8,
        encoding: str | None = None,
        order: list[int] | None = None,
        withhold: set[int] | frozenset[int] = frozenset(),
        urc_inside: str | None = None,
        urc_after: str | None = None,
    ) -> list[str]:
        """Deliver an SMS from the network (split into parts when long). `order` gives the part
        numbers (1-based) in arrival order; parts in `withhold` never arrive. With `urc_inside`
        the +CMTI of each part is sent inside the response to the next command starting with
        that text; with `urc_after`, right after that response's final result code, in the same
        write (so a reader gets both at once). Returns the PDUs in part order."""
        timestamp = timestamp or datetime.now(UTC).replace(microsecond=0)
        if reference is None:
            reference = self._random.randrange(0, 256 if iei == pdu.IEI_CONCAT_8 else 65536)
        pdus = pdu.encode_deliver(sender, text, timestamp, reference=reference, iei=iei, encoding=encoding)
        sequence = order or list(range(1, len(pdus) + 1))
        with self._lock:
            for seq in sequence:
                if seq in withhold:
                    continue
                self._network.append((pdus[seq - 1], _Pending(urc_inside, urc_after)))
        return pdus

    def inject_pdu(self, pdu_hex: str, urc_inside: str | None = None) -> None:
        """Deliver a raw SMS-DELIVER PDU (hex with the SMSC field)."""
        with self._lock:
            self._network.append((pdu_hex.upper(), _Pending(urc_inside)))

    def add_fault(
        self,
        command: str,
        action: str,
        value: object = None,
        times: int = 1,
        stage: str = "command",
        skip: int = 0,
    ) -> None:
        """Inject a fault into the next `times` commands starting with `command`.
        actions: drop (no reply at all), delay (reply after `value` s), cms / cme (+CMS/+CME ERROR
        `value`), error (ERROR), urc (line `value` inside the response), garbage (bytes `value`
        inside the response), split (the first PDU line of the answer is broken in two lines after
        `value` hex digits, by default in the middle), cut (that line ends there, the rest is
        lost). A split or cut counts only for an answer that has a PDU line. For AT+CMGS, stage
        "command" acts before the '> ' prompt (nothing is submitted) and stage "submit" after
        Ctrl-Z ("drop"/"delay" then mean the SMS was submitted but the answer is lost or late;
        "cms" means it was refused). `skip` lets that many matching commands pass before the
        fault applies."""
        if action not in ("drop", "delay", "cms", "cme", "error", "urc", "garbage", "split", "cut"):
            raise ValueError(f"unknown fault action {action!r}")
        with self._lock:
            self.faults.append(Fault(command.upper(), action, value, times, stage, skip))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def set_silent(self, silent: bool) -> None:
        """A hung modem: input is swallowed and nothing is answered."""
        with self._lock:
            self.silent = silent

    def send_garbage(self, data: bytes | None = None) -> None:
        """Emit line noise now (default: random bytes, including non-ASCII and NUL)."""
        with self._lock:
            self._emit(data if data is not None else bytes(self._random.randrange(256) for _ in range(24)))

    def stored(self, memory: str = "SM") -> dict[int, tuple[int, str]]:
        """The messages in a storage: index -> (stat, pdu hex)."""
        with self._lock:
            return {i: (v[0], v[1]) for i, v in self._storage[memory].items()}

    def network_pending(self) -> int:
        """Messages the network still holds (waiting for storage space)."""
        with self._lock:
            return len(self._network)

    def sent_messages(self) -> list[SentMessage]:
        """Submitted PDUs joined into messages (parts in the order they were submitted)."""
        with self._lock:
            sent = list(self.sent)
        out: list[SentMessage] = []
        open_groups: dict[tuple, dict[int, SentPdu]] = {}
        for item in sent:
            concat = item.submit.concat
            if concat is None or concat.total == 1:
                out.append(SentMessage(item.recipient, item.text, 1, (item.reference,), True))
                continue
            key = (item.recipient, concat.iei, concat.reference, concat.total)
            group = open_groups.setdefault(key, {})
            if concat.sequence in group:  # a new message reusing the reference
                out.append(_sent_group(key, group))
                group = open_groups[key] = {}
            group[concat.sequence] = item
            if len(group) == concat.total:
                out.append(_sent_group(key, group))
                del open_groups[key]
        for key, group in open_groups.items():
            out.append(_sent_group(key, group))
        return out

    # -- I/O loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        while self._running:
            with self._lock:
                master = self._master
                wants_write = bool(self._out)
            if master is None:
                time.sleep(0.01)
                with self._lock:
                    self._tick()
                continue
            try:
                readable, writable, _ = select.select([master], [master] if wants_write else [], [], 0.005)
            except (OSError, ValueError):
                time.sleep(0.005)
                continue
            with self._lock:
                if master != self._master:
                    continue
                if readable:
                    try:
                        data = os.read(master, 4096)
                    except BlockingIOError:
                        data = b""
                    except OSError as exc:
                        if exc.errno == errno.EIO:
                            data = b""
                        else:
                            raise
                    if data:
                        self._receive(data)
                self._tick()
                if self._out:
                    self._flush()

    def _flush(self) -> None:
        if self._master is None:
            self._out.clear()
            return
        try:
            written = os.write(self._master, bytes(self._out[:4096]))
            del self._out[:written]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._out.clear()

    def _emit(self, data: bytes, delay: float = 0.0) -> None:
        if delay > 0:
            self._scheduled.append((time.monotonic() + delay, data))
        else:
            self._out.extend(data)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._scheduled:
            due = [item for item in self._scheduled if item[0] <= now]
            if due:
                self._scheduled = [item for item in self._scheduled if item[0] > now]
                for _, data in sorted(due, key=lambda item: item[0]):
                    self._out.extend(data)
        if self.plugged and not self.silent:
            self._deliver_from_network()

    def _deliver_from_network(self) -> None:
        while self._network:
            memory = self._settings.cpms[2]
            store = self._storage[memory]
            if len(store) >= self.capacity[memory]:
                return
            pdu_hex, pending = self._network.popleft()
            index = next(i for i in range(1, self.capacity[memory] + 1) if i not in store)
            store[index] = [0, pdu_hex]  # REC UNREAD
            mt = self._settings.cnmi[1] if len(self._settings.cnmi) > 1 else 0
            if mt in (1, 2, 3) and not self.drop_urcs:
                urc = f'+CMTI: "{memory}",{index}'
                if pending.urc_inside or pending.urc_after:
                    prefix = pending.urc_inside or pending.urc_after or ""
                    self._pending_urcs.append((prefix.upper(), urc, pending.urc_inside is None))
                else:
                    self._emit(f"\r\n{urc}\r\n".encode())

    # -- input ------------------------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        if self.silent:
            return
        for byte in data:
            if self._pdu_mode is not None:
                if byte == CTRL_Z:
                    body = self._inbuf.decode("latin-1")
                    self._inbuf.clear()
                    length, _ = self._pdu_mode
                    self._pdu_mode = None
                    self._submit(length, body)
                elif byte == ESC:
                    self._inbuf.clear()
                    self._pdu_mode = None
                    self._emit(b"\r\nOK\r\n")
                elif byte in (0x0D, 0x0A):
                    continue
                else:
                    self._inbuf.append(byte)
                    if self._settings.echo:
                        self._emit(bytes([byte]))
                continue
            if byte == 0x0D:
                line = self._inbuf.decode("latin-1")
                self._inbuf.clear()
                if self._settings.echo:
                    self._emit(line.encode("latin-1") + CR)
                self._command(line.strip())
            elif byte in (0x0A, ESC, CTRL_Z):
                continue
            else:
                self._inbuf.append(byte)
                if len(self._inbuf) > 4096:
                    self._inbuf.clear()

    def _take_fault(self, command: str, stage: str = "command") -> Fault | None:
        upper = command.upper()
        for fault in self.faults:
            if fault.stage == stage and upper.startswith(fault.command) and fault.times > 0:
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _reply(
        self, command: str, info: list[str], final: str, fault: Fault | None, delay: float = 0.0
    ) -> None:
        """Emit '<info lines>' and the final result, applying a fault and pending URCs."""
        if fault is not None:
            if fault.action == "drop":
                return
            if fault.action == "delay":
                delay += float(fault.value or 0)
            elif fault.action == "cms":
                info, final = [], f"+CMS ERROR: {fault.value}"
            elif fault.action == "cme":
                info, final = [], self._cme(int(fault.value or 100))
            elif fault.action == "error":
                info, final = [], "ERROR"
        if fault is not None and fault.action in ("split", "cut"):
            info = self._damage_pdu_line(info, fault)
        chunks = [f"\r\n{line}\r\n".encode("latin-1") for line in info]
        inserts: list[bytes] = []
        trailing: list[bytes] = []
        upper = command.upper()
        for entry in list(self._pending_urcs):
            if upper.startswith(entry[0]):
                (trailing if entry[2] else inserts).append(f"\r\n{entry[1]}\r\n".encode())
                self._pending_urcs.remove(entry)
        if fault is not None and fault.action == "urc":
            inserts.append(f"\r\n{fault.value}\r\n".encode())
        if fault is not None and fault.action == "garbage":
            inserts.append(fault.value if isinstance(fault.value, bytes) else b"\xff\xfe\x00\x81garbage\x92")
        if inserts:
            # In the middle of the response: after the first information line (or first).
            position = 1 if chunks else 0
            chunks[position:position] = inserts
        if self.garbage_probability and self._random.random() < self.garbage_probability:
            chunks.insert(0, bytes(self._random.randrange(128, 256) for _ in range(5)) + b"\r\n")
        chunks.append(f"\r\n{final}\r\n".encode())
        self._emit(b"".join(chunks + trailing), delay)

    def _damage_pdu_line(self, info: list[str], fault: Fault) -> list[str]:
        """Line noise on the first PDU line of an answer: a line end inside it (split) or the
        rest of it lost (cut). An answer without a PDU line leaves the fault for the next one."""
        for number, line in enumerate(info):
            if re.fullmatch(r"[0-9A-F]{4,}", line):
                at = int(fault.value) if fault.value is not None else len(line) // 2
                damaged = f"{line[:at]}\r\n{line[at:]}" if fault.action == "split" else line[:at]
                return [*info[:number], damaged, *info[number + 1 :]]
        fault.times += 1
        if all(other is not fault for other in self.faults):
            self.faults.insert(0, fault)
        return info

    def _cme(self, code: int) -> str:
        if self._settings.cmee == 0:
            return "ERROR"
        return f"+CME ERROR: {code}"

    # -- commands ---------------------------------------------------------------------------------

    def _command(self, line: str) -> None:
        if not line:
            return
        upper = line.upper()
        if not upper.startswith("AT"):
            self._emit(b"\r\nERROR\r\n")
            return
        self.commands.append(line)
        fault = self._take_fault(line)
        try:
            info, final = self._execute(line[2:], upper[2:], fault)
        except _Prompt:
            return
        if info is None:
            return
        self._reply(line, info, final, fault, delay=0.0)

    def _execute(self, body: str, upper: str, fault: Fault | None) -> tuple[list[str] | None, str]:
        s = self._settings
        if upper in ("", "Z", "&F"):
            if upper:
                self._settings = _Settings(pin_ok=s.pin_ok, cpms=list(s.cpms))
            return [], "OK"
        if upper in ("E0", "E1", "E"):
            s.echo = upper == "E1"
            return [], "OK"
        m = re.fullmatch(r"\+CMEE=(\d)", upper)
        if m:
            s.cmee = int(m.group(1))
            return [], "OK"
        if upper == "+CMEE?":
            return [f"+CMEE: {s.cmee}"], "OK"
        if upper == "+CPIN?":
            return [f"+CPIN: {'READY' if s.pin_ok else 'SIM PIN'}"], "OK"
        m = re.fullmatch(r'\+CPIN="?(\d+)"?', upper)
        if m:
            if s.pin_ok:
                return [], "OK"
            if m.group(1) == self.pin:
                s.pin_ok = True
                return [], "OK"
            return [], self._cme(16)
        if upper in ("+CGMM", "+GMM"):
            return [self.model], "OK"
        if upper in ("+CGMI", "+GMI"):
            return ["CONDUCTOR"], "OK"
        if upper in ("+CGSN", "+GSN"):
            return ["356938035643809"], "OK"
        if upper == "+CIMI":
            return (["310150123456789"], "OK") if s.pin_ok else ([], self._cme(11))
        if upper == "+CSQ":
            return [f"+CSQ: {self.signal},99"], "OK"
        if upper == "+CREG?":
            return ["+CREG: 0,1"], "OK"
        if upper == "+CSCA?":
            return ['+CSCA: "+15550000000",145'], "OK"
        if upper == "+CMGF?":
            return [f"+CMGF: {s.cmgf}"], "OK"
        if upper == "+CMGF=?":
            return ["+CMGF: (0,1)"], "OK"
        m = re.fullmatch(r"\+CMGF=([01])", upper)
        if m:
            s.cmgf = int(m.group(1))
            return [], "OK"
        if upper == "+CNMI?":
            return ["+CNMI: " + ",".join(str(v) for v in s.cnmi)], "OK"
        if upper == "+CNMI=?":
            return ["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"], "OK"
        m = re.fullmatch(r"\+CNMI=([\d,]*)", upper)
        if m:
            values = [int(v) if v else 0 for v in m.group(1).split(",")]
            if len(values) > 5 or any(v > 3 for v in values):
                return [], "+CMS ERROR: 303"
            s.cnmi = tuple(values + [0] * (5 - len(values)))
            return [], "OK"
        if upper.startswith("+CPMS"):
            return self._cpms(upper)
        if upper.startswith(("+CMGL", "+CMGR", "+CMGD", "+CMGS")) and not s.pin_ok:
            return [], "+CMS ERROR: 311"
        if upper.startswith(("+CMGL", "+CMGR", "+CMGS")) and s.cmgf != 0:
            return [], "+CMS ERROR: 302"
        m = re.fullmatch(r"\+CMGL(?:=(\d))?", upper)
        if m:
            return self._cmgl(int(m.group(1) or 0))
        m = re.fullmatch(r"\+CMGR=(\d+)", upper)
        if m:
            return self._cmgr(int(m.group(1)))
        if upper == "+CMGD=?":
            used = ",".join(str(i) for i in sorted(self._storage[s.cpms[0]]))
            return [f"+CMGD: ({used}),(0-4)"], "OK"
        m = re.fullmatch(r"\+CMGD=(\d+)(?:,(\d))?", upper)
        if m:
            return self._cmgd(int(m.group(1)), int(m.group(2) or 0))
        m = re.fullmatch(r"\+CMGS=(\d+)", upper)
        if m:
            if fault is not None and fault.action in ("drop", "delay", "cms", "cme", "error"):
                if fault.action == "drop":
                    return None, ""  # no prompt, nothing
                if fault.action == "delay":
                    # the prompt comes late
                    self._pdu_mode = (int(m.group(1)), time.monotonic())
                    self._emit(b"\r\n> ", float(fault.value or 0))
                    raise _Prompt()
                return [], ""  # the error final is applied by _reply
            if fault is not None and fault.action == "urc":
                self._emit(f"\r\n{fault.value}\r\n".encode())
            self._pdu_mode = (int(m.group(1)), time.monotonic())
            self._emit(b"\r\n> ")
            raise _Prompt()
        return [], "ERROR"

    def _cpms(self, upper: str) -> tuple[list[str], str]:
        s = self._settings
        if upper == "+CPMS=?":
            mems = ",".join(f'"{m}"' for m in self._storage)
            return [f"+CPMS: ({mems}),({mems}),({mems})"], "OK"
        if upper == "+CPMS?":
            parts = []
            for mem in s.cpms:
                parts.append(f'"{mem}",{len(self._storage[mem])},{self.capacity[mem]}')
            return ["+CPMS: " + ",".join(parts)], "OK"
        m = re.fullmatch(r"\+CPMS=(.*)", upper)
        if not m:
            return [], "ERROR"
        mems = [v.strip().strip('"') for v in m.group(1).split(",") if v.strip()]
        if not mems or len(mems) > 3 or any(mem not in self._storage for mem in mems):
            return [], "+CMS ERROR: 302"
        for i, mem in enumerate(mems):
            s.cpms[i] = mem
        counts = []
        for mem in s.cpms:
            counts += [str(len(self._storage[mem])), str(self.capacity[mem])]
        return ["+CPMS: " + ",".join(counts)], "OK"

    def _cmgl(self, stat: int) -> tuple[list[str], str]:
        if stat > 4:
            return [], "+CMS ERROR: 304"
        store = self._storage[self._settings.cpms[0]]
        lines = []
        for index in sorted(store):
            entry = store[index]
            if stat == 4 or entry[0] == stat:
                lines += [f"+CMGL: {index},{entry[0]},,{pdu.tpdu_length(entry[1])}", entry[1]]
                if entry[0] == 0:
                    entry[0] = 1
        return lines, "OK"

    def _cmgr(self, index: int) -> tuple[list[str], str]:
        store = self._storage[self._settings.cpms[0]]
        entry = store.get(index)
        if entry is None:
            return [], "+CMS ERROR: 321"
        lines = [f"+CMGR: {entry[0]},,{pdu.tpdu_length(entry[1])}", entry[1]]
        if entry[0] == 0:
            entry[0] = 1
        return lines, "OK"

    def _cmgd(self, index: int, flag: int) -> tuple[list[str], str]:
        store = self._storage[self._settings.cpms[0]]
        if flag == 0:
            if index not in store and not 0 <= index <= self.capacity[self._settings.cpms[0]]:
                return [], "+CMS ERROR: 321"
            if store.pop(index, None) is not None:
                self.deleted.append(index)
            return [], "OK"
        self.bulk_deletes += 1
        stats = {1: {1}, 2: {1, 3}, 3: {1, 2, 3}, 4: {0, 1, 2, 3}}.get(flag)
        if stats is None:
            return [], "+CMS ERROR: 304"
        for i in [i for i, v in store.items() if v[0] in stats]:
            del store[i]
            self.deleted.append(i)
        return [], "OK"

    def _submit(self, length: int, body: str) -> None:
        command = "AT+CMGS"
        fault = self._take_fault(command, stage="submit")
        hex_text = "".join(body.split())
        try:
            if pdu.tpdu_length(hex_text) != length:
                raise pdu.PduError(f"length {length} does not match the PDU")
            submit = pdu.decode_submit(hex_text)
        except (pdu.PduError, ValueError, IndexError):
            self._emit(b"\r\n+CMS ERROR: 304\r\n")
            return
        if fault is not None and fault.action in ("cms", "cme", "error"):
            self._reply(command, [], "", fault)
            return
        reference = self._next_mr
        self._next_mr = (self._next_mr + 1) % 256
        self.sent.append(SentPdu(hex_text, submit, reference, time.time()))
        self._reply(command, [f"+CMGS: {reference}"], "OK", fault, delay=self.network_delay)


class _Prompt(Exception):
    """Internal: the command switched to the '> ' prompt (no final result yet)."""


def _sent_group(key: tuple, group: dict[int, SentPdu]) -> SentMessage:
    recipient, _, _, total = key
    texts = [group[s].text for s in sorted(group)]
    refs = tuple(group[s].reference for s in sorted(group))
    return SentMessage(
        recipient, pdu.join_texts(texts), total, refs, len(group) == total, tuple(sorted(group))
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run a simulator for manual testing: `python -m conductor_bridge.simulator --link PATH`.
    Each stdin line "<sender> <text>" is delivered as an inbound SMS; sent messages are printed."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--link", default="/tmp/ttyCONDUCTOR0", help="symlink path the bridge opens")
    parser.add_argument("--capacity", type=int, default=30, help="SIM storage slots")
    parser.add_argument("--pin", default=None, help="require this SIM PIN")
    parser.add_argument("--instant", action="store_true", help="no network delays")
    args = parser.parse_args(argv)
    sim = ModemSimulator(args.link, capacity=args.capacity, pin=args.pin, instant=args.instant).start()
    print(f"modem simulator on {sim.path}", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    printed = 0
    reading = True
    try:
        while True:
            ready, _, _ = select.select([sys.stdin] if reading else [], [], [], 0.2)
            if ready:
                line = sys.stdin.readline()
                if not line:
                    reading = False  # stdin closed (run in the background): keep serving
                    continue
                sender, _, text = line.strip().partition(" ")
                if sender and text:
                    sim.inject(sender, text)
            messages = sim.sent_messages()
            for message in messages[printed:]:
                print(f"sent to {message.recipient} ({message.parts} part(s)): {message.text}", flush=True)
            printed = len(messages)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
