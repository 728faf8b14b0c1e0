"""What is on the SIM, and which complete inbound messages it holds.

Only PDUs that decode completely get in: a PDU that is cut (fewer octets than its header's
<length> or its user data length announce) or not hex is never stored, so its slot is never
deleted; the bridge reads it again.

The bridge keeps every part of a concatenated SMS on the SIM until all parts are there (then it
stores the joined text) or until the multipart timeout (then it stores what arrived, the missing
parts marked in the text). Nothing is deleted here: the bridge deletes a message's slots only
after the database has committed it.

A crash between the commit and the last deletion leaves some parts of a stored message on the
SIM. Each part has a fingerprint (`part_hash`) that the database records with the message; the
bridge asks which fingerprints of an incomplete group are already stored and deletes those slots.

Grouping: parts belong together when sender, reference type (8 or 16 bit), reference and part
count agree. References repeat (8 bits), so a part whose sequence number is already taken opens
another group, unless it is the very same part stored twice (same text and timestamp): that copy
is deleted with its group.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from conductor_bridge import pdu

log = logging.getLogger("conductor_bridge.inbound")


@dataclass(frozen=True)
class InboundMessage:
    """A message ready to store: one SMS, a complete concatenated SMS, or what arrived of one."""

    sender: str
    text: str
    timestamp: datetime | None
    modem_index: int
    indexes: tuple[int, ...]  # every slot to delete once it is committed
    parts: int
    complete: bool = True
    part_hashes: tuple[str, ...] = ()  # fingerprints of a concatenated message's parts


def part_hash(message: pdu.Deliver) -> str:
    """The fingerprint of one part of a concatenated SMS: what tells it apart from any other."""
    concat = message.concat
    assert concat is not None
    stamp = message.timestamp.isoformat() if message.timestamp else ""
    identity = "\x1f".join(
        [
            message.sender.value,
            str(concat.iei),
            str(concat.reference),
            str(concat.total),
            str(concat.sequence),
        ]
        + [stamp, message.text]
    )
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class _Slot:
    index: int
    pdu_hex: str
    message: pdu.Deliver
    first_seen: float
    checked: bool = False  # asked the database whether this part's message is already stored


@dataclass
class _Group:
    key: tuple
    total: int
    parts: dict[int, _Slot] = field(default_factory=dict)
    duplicates: list[_Slot] = field(default_factory=list)

    @property
    def first_seen(self) -> float:
        return min(slot.first_seen for slot in [*self.parts.values(), *self.duplicates])

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.total


class SimInventory:
    """The bridge's picture of the SIM: the decoded message of each slot read intact."""

    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}

    def __len__(self) -> int:
        return len(self._slots)

    def indexes(self) -> set[int]:
        return set(self._slots)

    def add(self, index: int, pdu_hex: str, now: float, length: int | None = None) -> bool:
        """Record the PDU read from slot `index` (a new PDU in a known slot replaces the old);
        `length` is the TPDU length its header announced. A PDU that does not decode completely
        is not recorded, and what the slot held before is forgotten: False."""
        known = self._slots.get(index)
        if known is not None and known.pdu_hex == pdu_hex:
            return True
        try:
            message = pdu.decode_deliver(pdu_hex, length=length)
        except pdu.PduError as exc:
            self._slots.pop(index, None)
            log.warning("slot %d: PDU not recorded (%s)", index, exc)
            return False
        first_seen = known.first_seen if known is not None else now
        self._slots[index] = _Slot(index, pdu_hex, message, first_seen)
        return True

    def replace_all(
        self, stored: list[tuple[int, str]] | list[tuple[int, str, int | None]], now: float
    ) -> None:
        """A full listing of the storage, as (index, pdu hex[, length]): forget slots that are no
        longer there (or no longer read intact)."""
        listed = {item[0] for item in stored}
        for index in list(self._slots):
            if index not in listed:
                del self._slots[index]
        for item in stored:
            self.add(item[0], item[1], now, item[2] if len(item) > 2 else None)

    def forget(self, indexes: tuple[int, ...] | list[int] | set[int]) -> None:
        for index in indexes:
            self._slots.pop(index, None)

    def _groups(self) -> tuple[list[InboundMessage], list[_Group]]:
        singles: list[InboundMessage] = []
        groups: dict[tuple, list[_Group]] = {}
        for slot in sorted(self._slots.values(), key=lambda s: (s.first_seen, s.index)):
            message = slot.message
            concat = message.concat
            if concat is None or concat.total <= 1:
                singles.append(
                    InboundMessage(
                        sender=message.sender.value,
                        text=pdu.join_texts([message.text]),
                        timestamp=message.timestamp,
                        modem_index=slot.index,
                        indexes=(slot.index,),
                        parts=1,
                    )
                )
                continue
            key = (message.sender.value, concat.iei, concat.reference, concat.total)
            candidates = groups.setdefault(key, [])
            for group in candidates:
                taken = group.parts.get(concat.sequence)
                if taken is None:
                    group.parts[concat.sequence] = slot
                    break
                if taken.message.text == message.text and taken.message.timestamp == message.timestamp:
                    group.duplicates.append(slot)
                    break
            else:
                group = _Group(key, concat.total)
                group.parts[concat.sequence] = slot
                candidates.append(group)
        return singles, [g for gs in groups.values() for g in gs]

    def ready(self, now: float, multipart_timeout: float, storage_full: bool = False) -> list[InboundMessage]:
        """Messages to store now: single SMS, complete groups, groups older than the timeout,
        and, when the storage is full, the oldest incomplete group (so the network can deliver
        its missing parts)."""
        singles, groups = self._groups()
        out = list(singles)
        waiting: list[_Group] = []
        for group in groups:
            if group.complete or now - group.first_seen >= multipart_timeout:
                out.append(_joined(group))
            else:
                waiting.append(group)
        if storage_full and waiting and len(out) == 0:
            oldest = min(waiting, key=lambda g: g.first_seen)
            log.warning("storage full: storing an incomplete message early to make room")
            out.append(_joined(oldest))
        return out

    def unchecked_parts(self) -> dict[str, int]:
        """Fingerprint -> slot of each part of an incomplete group not yet asked about."""
        out: dict[str, int] = {}
        for group in self._groups()[1]:
            if group.complete:
                continue
            for slot in [*group.parts.values(), *group.duplicates]:
                if not slot.checked:
                    out[part_hash(slot.message)] = slot.index
        return out

    def mark_checked(self, indexes: list[int] | set[int]) -> None:
        for index in indexes:
            slot = self._slots.get(index)
            if slot is not None:
                slot.checked = True

    def waiting_groups(self) -> int:
        return sum(1 for g in self._groups()[1] if not g.complete)

    def next_expiry(self, multipart_timeout: float) -> float | None:
        """When the oldest incomplete group times out (monotonic clock), or None."""
        groups = [g for g in self._groups()[1] if not g.complete]
        if not groups:
            return None
        return min(g.first_seen for g in groups) + multipart_timeout


def _joined(group: _Group) -> InboundMessage:
    pieces: list[str] = []
    for seq in range(1, group.total + 1):
        slot = group.parts.get(seq)
        if slot is None:
            pieces.append(f"[part {seq} of {group.total} missing]")
        else:
            pieces.append(slot.message.text)
    ordered = [group.parts[s] for s in sorted(group.parts)]
    first = ordered[0]
    indexes = tuple(sorted(s.index for s in [*ordered, *group.duplicates]))
    text = pdu.join_texts(pieces)
    if not group.complete:
        missing = group.total - len(group.parts)
        text = f"[incomplete: {missing} of {group.total} parts missing] {text}"
    return InboundMessage(
        sender=first.message.sender.value,
        text=text,
        timestamp=first.message.timestamp,
        modem_index=first.index,
        indexes=indexes,
        parts=group.total,
        complete=group.complete,
        part_hashes=tuple(part_hash(s.message) for s in ordered),
    )
