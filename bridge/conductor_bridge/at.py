"""The AT command layer (3GPP TS 27.007 / 27.005) over a serial port.

One thread owns a channel. Bytes are read without blocking (the bridge's main loop selects on
`fileno()`), decoded as latin-1 so no byte can break the reader, and split into lines on CR/LF.
A line that starts with an unsolicited result code prefix (+CMTI, +CDSI, RING, ...) is a URC
wherever it appears, also in the middle of another command's response: it goes to `urcs`, a
queue the main loop drains, and is never lost or mistaken for a response. +CMT and +CDS (PDU
mode) take the next line as their PDU.

Errors: `PortLost` (the port is gone or unusable: reopen it), `AtTimeout` (no final result in
time: resynchronise), `AtError` (ERROR, +CMS ERROR, +CME ERROR: the command was refused).
`send_pdu` turns everything into `SendFailed` (certainly not submitted) or `SendUnknown` (the PDU
was handed over but no final answer came).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import select
import termios
import time
from dataclasses import dataclass

import serial

log = logging.getLogger("conductor_bridge.at")

CTRL_Z = b"\x1a"
ESC = b"\x1b"

# Unsolicited result codes recognised anywhere (27.005 3.4.1, 27.007, common vendor codes).
URC_PREFIXES = (
    "+CMTI:",
    "+CDSI:",
    "+CMT:",
    "+CDS:",
    "+CBM:",
    "+CBMI:",
    "RING",
    "+CRING:",
    "+CLIP:",
    "+CCWA:",
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+CUSD:",
    "+CIEV:",
    "NO CARRIER",
    "+PBREADY",
    "+QIND:",
    "^",
)
TWO_LINE_URCS = ("+CMT:", "+CDS:", "+CBM:")
FINAL_OK = "OK"
_ERROR_RE = re.compile(r"^\+(CMS|CME) ERROR:\s*(.*)$")


class PortLost(Exception):
    """The serial port vanished or cannot be used."""


class AtTimeout(Exception):
    """No final result code arrived in time."""


class AtError(Exception):
    """The modem refused a command. `code` is 'CMS:<n>', 'CME:<n>' or 'ERROR'."""

    def __init__(self, command: str, code: str, text: str) -> None:
        super().__init__(f"{command}: {text}")
        self.command = command
        self.code = code
        self.text = text


class SendFailed(Exception):
    """The message certainly did not reach the network. `code` as the SQL contract names it."""

    def __init__(self, code: str, message: str, port_lost: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.port_lost = port_lost


class SendUnknown(Exception):
    """The PDU was handed to the modem but no final answer came."""

    def __init__(self, reason: str, port_lost: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.port_lost = port_lost


@dataclass(frozen=True)
class Urc:
    """One unsolicited result code: its line, and for +CMT/+CDS the PDU line that followed."""

    line: str
    pdu: str | None = None

    @property
    def name(self) -> str:
        return self.line.split(":", 1)[0].strip()

    @property
    def args(self) -> str:
        return self.line.split(":", 1)[1].strip() if ":" in self.line else ""


def error_code(line: str) -> str | None:
    """'CMS:<n>' / 'CME:<n>' / 'ERROR' for a final error line, else None."""
    if line == "ERROR" or line == "COMMAND NOT SUPPORT":
        return "ERROR"
    m = _ERROR_RE.match(line)
    if m:
        kind, value = m.group(1), m.group(2).strip()
        if value.isdigit():
            return f"{kind}:{int(value)}"
        # Verbose text (CMEE=2): report it as the standard "unknown error" of its kind.
        return "CMS:500" if kind == "CMS" else "CME:100"
    return None


_STRUCTURED_RE = re.compile(r"^(OK|ERROR|COMMAND NOT SUPPORT|[+^][A-Z0-9]+[:\s].*|[0-9A-Fa-f]+|>.*|RING)$")


def _clean(raw: bytes) -> str:
    """Printable ASCII of a raw line. latin-1 maps every byte, so garbage can never raise. A line
    that carried line noise (bytes outside printable ASCII) is kept only if what remains has
    the shape of something a modem says (a result code, a +XXX: line, a PDU, the prompt);
    otherwise it is noise and dropped."""
    text = raw.decode("latin-1")
    cleaned = "".join(ch for ch in text if " " <= ch <= "~").strip()
    if len(cleaned) != len(text.strip()) and not _STRUCTURED_RE.match(cleaned):
        return ""
    return cleaned


class AtChannel:
    """AT commands over one serial port (opened exclusively)."""

    def __init__(self, port: str, baud: int = 115200, exclusive: bool = True) -> None:
        self.port = port
        self.baud = baud
        self.exclusive = exclusive
        self._serial: serial.Serial | None = None
        self._buffer = bytearray()
        self._lines: collections.deque[str] = collections.deque()
        self._awaiting_pdu: str | None = None  # a two-line URC waiting for its PDU line
        self.urcs: collections.deque[Urc] = collections.deque()
        self.stray_lines = 0

    # -- port ----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the port (follows /dev/serial/by-id symlinks anew each time)."""
        self.close()
        try:
            self._serial = serial.Serial(
                self.port,
                self.baud,
                timeout=0,
                write_timeout=5,
                exclusive=self.exclusive,
                rtscts=False,
                dsrdtr=False,
            )
        except (serial.SerialException, OSError, ValueError, termios.error) as exc:
            self._serial = None
            raise PortLost(f"cannot open {self.port}: {exc}") from None
        self._buffer.clear()
        self._lines.clear()
        self._awaiting_pdu = None

    def close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            with contextlib.suppress(Exception):  # closing a dead port may fail any way
                ser.close()

    def fileno(self) -> int | None:
        return self._serial.fileno() if self._serial is not None else None

    def _require(self) -> serial.Serial:
        if self._serial is None:
            raise PortLost(f"{self.port} is not open")
        return self._serial

    def write(self, data: bytes) -> None:
        ser = self._require()
        try:
            ser.write(data)
            ser.flush()
        except (serial.SerialException, OSError, termios.error) as exc:
            self.close()
            raise PortLost(f"write to {self.port} failed: {exc}") from None

    def _read_some(self, timeout: float) -> bool:
        """Wait up to timeout for bytes and append them to the buffer; True if any came."""
        ser = self._require()
        try:
            fd = ser.fileno()
            ready, _, _ = select.select([fd], [], [], max(timeout, 0))
            if not ready:
                return False
            data = os.read(fd, 4096)
        except (OSError, ValueError, serial.SerialException, termios.error) as exc:
            self.close()
            raise PortLost(f"read from {self.port} failed: {exc}") from None
        if not data:
            self.close()
            raise PortLost(f"{self.port} hung up")
        self._buffer.extend(data)
        self._split_lines()
        return True

    def _split_lines(self) -> None:
        while True:
            cut = -1
            for i, byte in enumerate(self._buffer):
                if byte in (0x0D, 0x0A):
                    cut = i
                    break
            if cut < 0:
                return
            raw = bytes(self._buffer[:cut])
            del self._buffer[: cut + 1]
            line = _clean(raw)
            if line:
                self._lines.append(line)

    def pending(self) -> bool:
        """Whether notices or lines are already read and wait to be handled: bytes that came
        with a command's answer (after its final result code) are off the port, so select()
        on it would not wake for them."""
        return bool(self.urcs or self._lines)

    def _partial(self) -> str:
        return _clean(bytes(self._buffer))

    # -- lines and URCs --------------------------------------------------------------------------

    @staticmethod
    def is_urc(line: str) -> bool:
        return line.startswith(URC_PREFIXES)

    def _take_urc(self, line: str) -> None:
        if line.startswith(TWO_LINE_URCS):
            self._awaiting_pdu = line
            return
        self.urcs.append(Urc(line))

    def _next_line(self, deadline: float, response_prefix: str | None = None) -> str:
        """The next line that is not a URC (URCs are queued on the way)."""
        while True:
            while self._lines:
                line = self._lines.popleft()
                if self._awaiting_pdu is not None:
                    self.urcs.append(Urc(self._awaiting_pdu, pdu=line))
                    self._awaiting_pdu = None
                    continue
                if response_prefix and line.startswith(response_prefix):
                    return line
                if self.is_urc(line):
                    self._take_urc(line)
                    continue
                return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AtTimeout("no answer")
            self._read_some(remaining)

    def poll(self, timeout: float = 0.0) -> None:
        """Read what is there (waiting up to timeout) and queue URCs; any other line arriving
        while no command runs is a late answer to an abandoned command and is dropped."""
        self._read_some(timeout)
        while self._read_some(0):
            pass
        self._drain_idle_lines()

    def _drain_idle_lines(self) -> None:
        while self._lines:
            line = self._lines.popleft()
            if self._awaiting_pdu is not None:
                self.urcs.append(Urc(self._awaiting_pdu, pdu=line))
                self._awaiting_pdu = None
            elif self.is_urc(line):
                self._take_urc(line)
            else:
                self.stray_lines += 1
                log.debug("dropping stray line %r", line)

    # -- commands --------------------------------------------------------------------------------

    def command(self, command: str, timeout: float = 10.0, response_prefix: str | None = None) -> list[str]:
        """Send one command; return its information lines (echo, URCs and blanks removed).
        Raises AtError on ERROR/+CMS ERROR/+CME ERROR, AtTimeout, PortLost."""
        self._require()
        while self._read_some(0):
            pass
        self._drain_idle_lines()
        self.write(command.encode("ascii") + b"\r")
        deadline = time.monotonic() + timeout
        lines: list[str] = []
        echo = command.strip().upper()
        while True:
            line = self._next_line(deadline, response_prefix)
            if line.upper() == echo:
                continue
            if line == FINAL_OK:
                return lines
            code = error_code(line)
            if code is not None:
                raise AtError(command, code, line)
            lines.append(line)

    def resync(self, timeout: float = 3.0) -> None:
        """After a timeout: leave any '> ' prompt with ESC, drop what is pending, and check that
        the modem answers a plain AT again. Raises AtTimeout if it does not."""
        self.write(ESC)
        self._settle(0.5)  # late answers to the abandoned command arrive and are dropped
        for _ in range(2):
            try:
                self.command("AT", timeout=timeout)
                self._settle(0.1)
                return
            except AtError:
                self._settle(0.1)
                return  # an ERROR is still an answer
            except AtTimeout:
                continue
        raise AtTimeout("modem does not answer AT")

    def _settle(self, quiet: float) -> None:
        """Read until the line has been quiet for `quiet` seconds (at most 2 s)."""
        end = time.monotonic() + 2.0
        while time.monotonic() < end and self._read_some(quiet):
            pass
        self._buffer.clear()
        self._drain_idle_lines()

    def send_pdu(
        self, tpdu_length: int, pdu_hex: str, prompt_timeout: float = 10.0, result_timeout: float = 60.0
    ) -> int:
        """AT+CMGS in PDU mode. Returns the message reference from '+CMGS: <mr>'.
        Raises SendFailed when the message certainly was not submitted (ERROR/+CMS ERROR before
        or at submission, no '> ' prompt, port lost before Ctrl-Z) and SendUnknown when the PDU
        and Ctrl-Z went out but no final answer came."""
        command = f"AT+CMGS={tpdu_length}"
        try:
            self._require()
            while self._read_some(0):
                pass
            self._drain_idle_lines()
            self.write(command.encode("ascii") + b"\r")
        except PortLost as exc:
            raise SendFailed("port_lost", str(exc), port_lost=True) from None
        # Wait for the '> ' prompt (it has no line end after it).
        deadline = time.monotonic() + prompt_timeout
        try:
            while True:
                if not self._lines and self._partial().endswith(">"):
                    self._buffer.clear()
                    break
                if self._lines:
                    line = self._lines.popleft()
                    if self._awaiting_pdu is not None:
                        self.urcs.append(Urc(self._awaiting_pdu, pdu=line))
                        self._awaiting_pdu = None
                        continue
                    if line.startswith(">"):
                        break
                    if self.is_urc(line):
                        self._take_urc(line)
                        continue
                    code = error_code(line)
                    if code is not None:
                        raise SendFailed(code if code != "ERROR" else "no_prompt", f"{command}: {line}")
                    continue  # echo or noise
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AtTimeout("no prompt")
                self._read_some(remaining)
        except AtTimeout:
            try:
                self.write(ESC)
            except PortLost:
                raise SendFailed("no_prompt", f"{command}: no '> ' prompt", port_lost=True) from None
            raise SendFailed("no_prompt", f"{command}: no '> ' prompt within {prompt_timeout:g}s") from None
        except PortLost as exc:
            raise SendFailed("port_lost", str(exc), port_lost=True) from None
        # Hand over the PDU. Until Ctrl-Z is written the modem cannot submit anything.
        try:
            self.write(pdu_hex.encode("ascii"))
        except PortLost as exc:
            raise SendFailed("port_lost", str(exc), port_lost=True) from None
        try:
            self.write(CTRL_Z)
        except PortLost as exc:
            raise SendFailed("port_lost", f"Ctrl-Z not written: {exc}", port_lost=True) from None
        deadline = time.monotonic() + result_timeout
        reference: int | None = None
        try:
            while True:
                line = self._next_line(deadline, response_prefix="+CMGS:")
                if line.startswith("+CMGS:"):
                    value = line.split(":", 1)[1].split(",", 1)[0].strip()
                    reference = int(value) if value.isdigit() else None
                    continue
                if line == FINAL_OK:
                    if reference is None:
                        log.warning("AT+CMGS answered OK without +CMGS: <mr>")
                        reference = -1
                    return reference
                code = error_code(line)
                if code is not None:
                    raise SendFailed(code if code != "ERROR" else "CMS:500", f"{command}: {line}")
                # anything else: the echo of the PDU, or noise
        except AtTimeout:
            try:
                self.write(ESC)
            except PortLost:
                raise SendUnknown(
                    f"no +CMGS answer within {result_timeout:g}s after Ctrl-Z, then the port was lost",
                    port_lost=True,
                ) from None
            raise SendUnknown(f"no +CMGS answer within {result_timeout:g}s after Ctrl-Z") from None
        except PortLost as exc:
            raise SendUnknown(f"port lost after Ctrl-Z: {exc}", port_lost=True) from None
