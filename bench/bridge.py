"""Figure 5: the modem bridge against the modem simulator in instant mode."""

from __future__ import annotations

from bench import package


def run(cluster, dbname: str, messages: int, quick: bool) -> dict:
    try:
        from conductor_bridge import simulator  # noqa: F401
    except ImportError as exc:
        raise package.Missing(
            "the modem bridge and its simulator (conductor_bridge.simulator) are not installed"
        ) from exc
    raise package.Missing("bridge figure not wired yet")
