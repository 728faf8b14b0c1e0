"""The bridge's side of the bridge <-> SQL contract: one autocommit connection that LISTENs on
the outbound channel and calls only the conductor.bridge_* functions. Each call is its own
transaction, committed when the call returns (so a stored message is durable before the bridge
deletes it from the SIM, and a claim is durable before AT+CMGS).

Connection problems raise DatabaseDown (the bridge reconnects); the server refusing a call
raises DatabaseError; a database without the package raises NotInstalled.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors, sql

log = logging.getLogger("conductor_bridge.db")

DEFAULT_CHANNEL = "conductor_outbound"


class DatabaseDown(Exception):
    """The connection is gone or cannot be made."""


class DatabaseError(Exception):
    """The database refused a call (an error raised by the SQL side)."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class NotInstalled(Exception):
    """The database does not hold the conductor package (or not the bridge functions)."""


@dataclass(frozen=True)
class Claimed:
    message_id: int
    phone_number: str
    content: str
    attempt: int


@dataclass(frozen=True)
class HelloInfo:
    package_version: str
    notify_channel: str
    lease_seconds: float
    multipart_timeout_seconds: float
    poll_seconds: float


_CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


class Database:
    def __init__(self, url: str, bridge_id: str, connect_timeout: int = 10) -> None:
        self.url = url
        self.bridge_id = bridge_id
        self.connect_timeout = connect_timeout
        self.channel = DEFAULT_CHANNEL
        self._conn: psycopg.Connection | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def connect(self) -> None:
        self.close()
        try:
            conn = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=self.connect_timeout,
                application_name=f"conductor-bridge {self.bridge_id}"[:63],
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
                tcp_user_timeout=30000,  # ms: a query on a dead connection fails instead of hanging
            )
        except _CONNECTION_ERRORS as exc:
            raise DatabaseDown(f"cannot connect: {_first_line(exc)}") from None
        self._conn = conn
        try:
            conn.execute("set statement_timeout = '60s'")
            # The server probes its end too: when the modem PC vanishes without closing the
            # socket (power cut, network gone), the server ends this session within about a
            # minute instead of the kernel's two hours, releasing the bridge identity's lock
            # so the restarted bridge can say hello (over a Unix socket these are no-ops).
            conn.execute(
                "select set_config('tcp_keepalives_idle', '30', false),"
                " set_config('tcp_keepalives_interval', '10', false),"
                " set_config('tcp_keepalives_count', '3', false),"
                " set_config('tcp_user_timeout', '30000', false)"
            )
            conn.execute(sql.SQL("listen {}").format(sql.Identifier(self.channel)))
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise DatabaseDown(f"connection lost while setting up: {_first_line(exc)}") from None

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                conn.close()

    def fileno(self) -> int | None:
        if not self.connected:
            return None
        try:
            return self._conn.fileno()  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001
            return None

    def _call(self, query: str | sql.Composable, params: tuple, fetch: str = "one") -> Any:
        if not self.connected:
            raise DatabaseDown("not connected")
        try:
            cur = self._conn.execute(query, params)  # type: ignore[union-attr]
            if fetch == "one":
                return cur.fetchone()
            if fetch == "none":
                return None
            return cur.fetchall()
        except _CONNECTION_ERRORS as exc:
            sqlstate = getattr(exc, "sqlstate", None)
            if (
                sqlstate
                and not sqlstate.startswith("08")
                and self._conn is not None
                and not self._conn.closed
            ):
                # psycopg files some refusals under OperationalError (55P03 lock_not_available):
                # the connection is fine, the server said no.
                raise DatabaseError(_first_line(exc), sqlstate) from None
            self.close()
            raise DatabaseDown(_first_line(exc)) from None
        except (errors.UndefinedFunction, errors.UndefinedTable, errors.InvalidSchemaName) as exc:
            raise NotInstalled(_first_line(exc)) from None
        except psycopg.Error as exc:
            if self._conn is not None and self._conn.closed:
                self.close()
                raise DatabaseDown(_first_line(exc)) from None
            raise DatabaseError(_first_line(exc), getattr(exc, "sqlstate", None)) from None

    # -- the contract ------------------------------------------------------------------------------

    def check_installed(self) -> None:
        row = self._call(
            "select to_regclass('conductor.installed_versions') is not null,"
            " to_regprocedure('conductor.bridge_hello(text,text,text,text)') is not null",
            (),
        )
        if not row[0]:
            raise NotInstalled(
                "conductor.installed_versions is missing: the conductor package is not installed"
            )
        if not row[1]:
            raise NotInstalled(
                "conductor.bridge_hello is missing: the installed conductor package has no bridge API"
            )

    def hello(self, hostname: str, port: str, version: str) -> HelloInfo:
        row = self._call(
            "select conductor.bridge_hello(p_bridge_id => %s, p_hostname => %s, p_port => %s,"
            " p_bridge_version => %s)",
            (self.bridge_id, hostname, port, version),
        )
        info = row[0] or {}
        channel = info.get("notify_channel") or DEFAULT_CHANNEL
        if channel != self.channel:
            # LISTEN on the channel the database names, from now on and after every reconnect.
            self._call(sql.SQL("unlisten {}").format(sql.Identifier(self.channel)), (), fetch="none")
            self.channel = channel
            self._call(sql.SQL("listen {}").format(sql.Identifier(self.channel)), (), fetch="none")
        return HelloInfo(
            package_version=str(info.get("package_version")),
            notify_channel=channel,
            lease_seconds=float(info.get("lease_seconds") or 300),
            multipart_timeout_seconds=float(info.get("multipart_timeout_seconds") or 900),
            poll_seconds=float(info.get("poll_seconds") or 30),
        )

    def store_inbound(
        self,
        sender: str,
        content: str,
        modem_timestamp: datetime | None,
        modem_index: int | None,
        parts: int,
        part_hashes: tuple[str, ...] = (),
    ) -> tuple[int | None, bool]:
        """(message_id, is_new); message_id is None for a sender that is not a phone number
        (kept in conductor.other_sender_messages)."""
        row = self._call(
            "select message_id, is_new from conductor.bridge_store_inbound(p_bridge_id => %s,"
            " p_sender => %s, p_content => %s, p_modem_timestamp => %s, p_modem_index => %s,"
            " p_parts => %s::smallint, p_part_hashes => %s::text[])",
            (self.bridge_id, sender, content, modem_timestamp, modem_index, parts, list(part_hashes) or None),
        )
        if row is None:
            raise DatabaseError("bridge_store_inbound returned no row", None)
        return (None if row[0] is None else int(row[0])), bool(row[1])

    def stored_parts(self, part_hashes: list[str]) -> set[str]:
        """Which of these part fingerprints belong to a message already committed."""
        rows = self._call(
            "select conductor.bridge_stored_parts(p_bridge_id => %s, p_part_hashes => %s::text[])",
            (self.bridge_id, part_hashes),
            fetch="all",
        )
        return {r[0] for r in rows}

    def claim_outbound(self) -> Claimed | None:
        row = self._call(
            "select message_id, phone_number, content, attempt"
            " from conductor.bridge_claim_outbound(p_bridge_id => %s)",
            (self.bridge_id,),
        )
        if row is None or row[0] is None:
            return None
        return Claimed(int(row[0]), row[1], row[2], int(row[3] or 0))

    def next_due_at(self) -> datetime | None:
        row = self._call("select conductor.bridge_next_due_at()", ())
        return row[0] if row else None

    def seconds_until_next_due(self) -> float | None:
        """Seconds until the next queued message is due, on the database clock (None: none)."""
        row = self._call("select extract(epoch from conductor.bridge_next_due_at() - clock_timestamp())", ())
        return None if row is None or row[0] is None else float(row[0])

    def mark_sent(self, message_id: int, modem_reference: int, parts: int) -> None:
        self._call(
            "select conductor.bridge_mark_sent(p_bridge_id => %s, p_message_id => %s,"
            " p_modem_reference => %s, p_parts => %s::smallint)",
            (self.bridge_id, message_id, modem_reference, parts),
        )

    def mark_failed(self, message_id: int, error_code: str, error_message: str) -> str:
        row = self._call(
            "select conductor.bridge_mark_failed(p_bridge_id => %s, p_message_id => %s,"
            " p_error_code => %s, p_error_message => %s)",
            (self.bridge_id, message_id, error_code, error_message),
        )
        return str(row[0]) if row else ""

    def mark_unknown(self, message_id: int, reason: str) -> None:
        self._call(
            "select conductor.bridge_mark_unknown(p_bridge_id => %s, p_message_id => %s, p_reason => %s)",
            (self.bridge_id, message_id, reason),
        )

    def heartbeat(
        self,
        modem_state: str,
        modem_model: str | None,
        signal_quality: int | None,
        last_error: str | None,
        received_delta: int,
        sent_delta: int,
    ) -> None:
        self._call(
            "select conductor.bridge_heartbeat(p_bridge_id => %s, p_modem_state => %s,"
            " p_modem_model => %s, p_signal_quality => %s::smallint, p_last_error => %s,"
            " p_received_delta => %s, p_sent_delta => %s)",
            (
                self.bridge_id,
                modem_state,
                modem_model,
                signal_quality,
                last_error,
                received_delta,
                sent_delta,
            ),
        )

    def drain_notifications(self) -> int:
        """Consume the notifications that have arrived, also those read off the socket together
        with another query's answer (kept in the connection's buffer); how many there were."""
        if not self.connected:
            return 0
        count = 0
        try:
            for _ in self._conn.notifies(timeout=0):  # type: ignore[union-attr]
                count += 1
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise DatabaseDown(_first_line(exc)) from None
        return count


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
