"""What the call log holds in memory while its file will not take a write (a full disk):
the writes in the order they came, a bound on them, and when to try again.

Rules:
  - A write is a Record: one transaction's worth (a call's row, its caller ID, its
    answer or its end with their events, an agent's event), the call it belongs to
    (None for an agent's event), and whether it is the call's last. Records leave in
    the order they came, the oldest first: a call's row is always written before
    anything that updates it.
  - At most `limit` records are held. Past it, the call of the oldest record loses all
    its held records, and every later one (a call is written whole or not at all: an
    end without the row or the answer under it would be a partial call); an agent's
    event goes alone. Dropped calls and agent events are counted, never hidden.
  - Back-off: after a failed try the next is due `first_s` later, doubling up to
    `most_s`; a try that wrote something makes the next one due at once, so what is
    held goes out a chunk at a time without waiting.
  - Times are the caller's (the call log's clock); nothing here reads a clock or does
    I/O.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Deque, Iterator, List, Optional, Set

LIMIT = 5000            # about 1500 calls: days of a small office's traffic, a few MB of memory
FIRST_S = 1.0
MOST_S = 60.0


@dataclass(frozen=True)
class Record:
    call: Optional[int]             # None: an agent's event
    payload: Any                    # what the writer needs to write it
    last: bool = False              # the call's end: nothing more comes for it


class Holding:
    """The records not yet written, oldest first."""

    def __init__(self, limit: int = LIMIT, first_s: float = FIRST_S, most_s: float = MOST_S):
        if limit < 1:
            raise ValueError("a holding needs room for at least one record")
        self.limit = limit
        self.first_s, self.most_s = first_s, most_s
        self.why = ""                   # the last failure, "" when nothing is held
        self.since: Optional[float] = None      # when the writes began to fail
        self.dropped_calls = 0
        self.dropped_agent_events = 0
        self._records: Deque[Record] = deque()
        self._of: Counter = Counter()           # held records by call
        self._lost: Set[int] = set()            # calls whose records were dropped, until their end
        self._due = 0.0
        self._delay = first_s

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def held(self, call: int) -> int:
        """How many records of the call are held."""
        return self._of[call]

    def lost(self, call: int) -> bool:
        return call in self._lost

    def put(self, record: Record, at: float, why: str) -> List[int]:
        """A record that could not be written (or must wait behind those that could not);
        returns the calls whose records were dropped to make room."""
        if self.since is None:
            self.since = at
        self.why = why or self.why
        if record.call is not None and record.call in self._lost:
            if record.last:
                self._lost.discard(record.call)
            return []
        self._records.append(record)
        if record.call is not None:
            self._of[record.call] += 1
        dropped = []
        while len(self._records) > self.limit:
            call = self._drop_oldest()
            if call is not None:
                dropped.append(call)
        return dropped

    def head(self, n: int) -> List[Record]:
        """The oldest n records, to be written together."""
        return [self._records[i] for i in range(min(n, len(self._records)))]

    def written(self, n: int) -> List[Record]:
        """The oldest n records reached the file; the next try is due at once."""
        out = [self._records.popleft() for _ in range(n)]
        for r in out:
            if r.call is not None:
                self._of[r.call] -= 1
                if not self._of[r.call]:
                    del self._of[r.call]
        self._due, self._delay = 0.0, self.first_s
        if not self._records:
            self.why, self.since = "", None
        return out

    def failed(self, at: float, why: str) -> None:
        """A try wrote nothing: the next one waits, longer each time."""
        self.why = why
        self._due = at + self._delay
        self._delay = min(self._delay * 2, self.most_s)

    def due(self, at: float) -> bool:
        return bool(self._records) and at >= self._due

    def _drop_oldest(self) -> Optional[int]:
        oldest = self._records[0]
        if oldest.call is None:
            self._records.popleft()
            self.dropped_agent_events += 1
            return None
        call = oldest.call
        ended = any(r.last for r in self._records if r.call == call)
        self._records = deque(r for r in self._records if r.call != call)
        del self._of[call]
        self.dropped_calls += 1
        if not ended:
            self._lost.add(call)
        return call
