"""Conductor's modem bridge: moves SMS between a USB GSM modem (3GPP TS 27.005, PDU mode) and
the conductor SQL package. It holds no business rules; the SQL functions decide."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("conductor")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
