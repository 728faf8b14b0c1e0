"""`conductor-bridge`: run the modem bridge (see --help)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from conductor_bridge import __version__

DESCRIPTION = """\
Move SMS between a USB GSM/LTE modem and the conductor database.

Inbound SMS are stored through conductor.bridge_store_inbound and deleted from the SIM only
after the database committed them. Outbound messages queued in public.messages are claimed
through conductor.bridge_claim_outbound, sent with AT+CMGS, and their outcome recorded. The
bridge wakes on NOTIFY conductor_outbound, recovers from a silent modem, an unplugged port and a
database restart by itself, and writes its health to conductor.bridge_health.
"""

EPILOG = """\
environment:
  DATABASE_URL        PostgreSQL connection URL (postgresql://user:password@host:5432/db);
                      --database-url overrides it. The role needs the conductor_bridge grants.
  CONDUCTOR_MODEM_PORT, CONDUCTOR_MODEM_BAUD, CONDUCTOR_SIM_PIN, CONDUCTOR_BRIDGE_ID,
  CONDUCTOR_LOG_LEVEL  defaults for --port, --baud, --pin, --bridge-id, --log-level
                      (handy in a systemd EnvironmentFile; the PIN stays off the command line).

exit status:
  0  stopped on SIGTERM/SIGINT
  64 bad usage (unknown flag, missing port or database URL)
  2  the database does not hold the conductor package (conductor.installed_versions or the
     bridge functions are missing) or refused bridge_hello

Keep ModemManager away from the modem (it probes and holds serial ports): a udev rule with
ENV{ID_MM_DEVICE_IGNORE}="1" for the modem, or `systemctl disable --now ModemManager`.
"""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


EX_USAGE = 64


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="conductor-bridge",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        default=_env("CONDUCTOR_MODEM_PORT"),
        help="serial port of the modem's AT interface; prefer the stable /dev/serial/by-id/... "
        "path (it survives re-plugging). Opened exclusively.",
    )
    parser.add_argument(
        "--baud",
        type=int,
        default=int(_env("CONDUCTOR_MODEM_BAUD", "115200")),
        help="baud rate (default 115200)",
    )
    parser.add_argument(
        "--pin",
        default=_env("CONDUCTOR_SIM_PIN"),
        help="SIM PIN, sent with AT+CPIN only if the SIM asks for one; a refused PIN is never "
        "retried (prefer CONDUCTOR_SIM_PIN in an EnvironmentFile)",
    )
    parser.add_argument(
        "--bridge-id",
        default=_env("CONDUCTOR_BRIDGE_ID"),
        help="name of this bridge in conductor.bridge_health and on claimed messages "
        "(default <hostname>:<port>)",
    )
    parser.add_argument(
        "--database-url",
        default=_env("DATABASE_URL"),
        help="PostgreSQL URL (default: $DATABASE_URL)",
    )
    parser.add_argument(
        "--log-level",
        default=_env("CONDUCTOR_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="logging detail on stderr (default info; debug shows every AT exchange's stray lines)",
    )
    tuning = parser.add_argument_group("tuning (defaults suit real modems)")
    tuning.add_argument(
        "--heartbeat-seconds", type=float, default=30.0, help="health report interval (default 30)"
    )
    tuning.add_argument(
        "--command-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for an AT command's answer (default 10)",
    )
    tuning.add_argument(
        "--prompt-timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the '> ' prompt of AT+CMGS (default 10)",
    )
    tuning.add_argument(
        "--send-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for +CMGS after Ctrl-Z; after that the outcome is unknown and the "
        "message is never resent automatically (default 60)",
    )
    tuning.add_argument(
        "--reopen-max-seconds",
        type=float,
        default=30.0,
        help="longest wait between attempts to reopen a vanished port or re-initialise the modem "
        "(default 30)",
    )
    tuning.add_argument(
        "--db-retry-max-seconds",
        type=float,
        default=30.0,
        help="longest wait between attempts to reconnect to the database (default 30)",
    )
    tuning.add_argument(
        "--poll-seconds",
        type=float,
        default=None,
        help="SIM backstop scan (AT+CMGL=4) and queue check interval "
        "(default: the database's bridge_poll_seconds)",
    )
    tuning.add_argument(
        "--multipart-timeout",
        type=float,
        default=None,
        help="seconds to keep parts of an incomplete multipart SMS on the SIM before storing what "
        "arrived (default: the database's bridge_multipart_timeout_seconds)",
    )
    parser.add_argument("--version", action="version", version=f"conductor-bridge {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Signals are caught from the start, so a stop during start-up is clean too.
    requested: list[int] = []
    bridge = None

    def on_signal(signum: int, frame: object) -> None:
        requested.append(signum)
        if bridge is not None:
            logging.getLogger("conductor_bridge").info("signal %d: stopping after the current step", signum)
            bridge.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.port:
        parser.error("--port is required (or set CONDUCTOR_MODEM_PORT)")
    if not args.database_url:
        parser.error("set DATABASE_URL (or pass --database-url)")
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from conductor_bridge.bridge import Bridge, Config

    bridge = Bridge(
        Config(
            port=args.port,
            database_url=args.database_url,
            baud=args.baud,
            pin=args.pin,
            bridge_id=args.bridge_id,
            heartbeat_seconds=args.heartbeat_seconds,
            command_timeout=args.command_timeout,
            prompt_timeout=args.prompt_timeout,
            send_timeout=args.send_timeout,
            reopen_max_seconds=args.reopen_max_seconds,
            db_retry_max_seconds=args.db_retry_max_seconds,
            poll_seconds=args.poll_seconds,
            multipart_timeout_seconds=args.multipart_timeout,
        )
    )
    if requested:
        bridge.request_stop()
    return bridge.run()


if __name__ == "__main__":
    raise SystemExit(main())
