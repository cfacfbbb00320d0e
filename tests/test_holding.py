"""The call log's holding: records in order, whole calls dropped past the bound, the back-off."""
import pytest

from appliance.holding import Holding, Record


def rec(call, n, last=False):
    return Record(call, n, last)


def test_records_leave_in_the_order_they_came():
    h = Holding(limit=10)
    for r in (rec(1, "row"), rec(None, "login"), rec(1, "answer"), rec(2, "row"), rec(1, "end", last=True)):
        assert h.put(r, 100.0, "disk full") == []
    assert [r.payload for r in h.head(3)] == ["row", "login", "answer"]
    assert (h.held(1), h.held(2), h.held(3)) == (3, 1, 0)
    assert [r.payload for r in h.written(3)] == ["row", "login", "answer"]
    assert [r.payload for r in h] == ["row", "end"] and h.held(1) == 1
    assert (h.why, h.since) == ("disk full", 100.0)
    h.written(2)
    assert len(h) == 0 and (h.why, h.since) == ("", None) and h.held(1) == 0


def test_past_the_bound_the_oldest_call_goes_whole_and_stays_gone():
    h = Holding(limit=4)
    h.put(rec(1, "row 1"), 0, "disk full")
    h.put(rec(2, "row 2"), 1, "")
    h.put(rec(1, "answer 1"), 2, "")
    h.put(rec(3, "row 3"), 3, "")
    assert h.put(rec(2, "answer 2"), 4, "") == [1]         # call 1: its row and its answer
    assert [r.payload for r in h] == ["row 2", "row 3", "answer 2"]
    assert h.dropped_calls == 1 and h.held(1) == 0 and h.lost(1)
    # What comes later for call 1 has no row to go on: dropped too, until its end.
    assert h.put(rec(1, "more of 1"), 5, "") == []
    h.put(rec(1, "end 1", last=True), 6, "")
    assert not h.lost(1) and [r.payload for r in h] == ["row 2", "row 3", "answer 2"]
    assert h.dropped_calls == 1


def test_a_dropped_call_that_had_ended_is_not_waited_for():
    h = Holding(limit=3)
    h.put(rec(7, "row"), 0, "disk full")
    h.put(rec(7, "end", last=True), 1, "")
    h.put(rec(None, "pause"), 2, "")
    h.put(rec(8, "row"), 3, "")
    assert not h.lost(7) and h.dropped_calls == 1
    h.put(rec(9, "row"), 4, "")
    assert h.dropped_agent_events == 0 and [r.call for r in h] == [None, 8, 9]
    h.put(rec(10, "row"), 5, "")                # an agent's event goes alone
    assert h.dropped_agent_events == 1 and h.dropped_calls == 1 and [r.call for r in h] == [8, 9, 10]


def test_back_off_doubles_to_its_ceiling_and_a_write_ends_it():
    h = Holding(limit=10, first_s=1.0, most_s=4.0)
    assert not h.due(0)                         # nothing held
    h.put(rec(1, "row"), 0, "disk full")
    assert h.due(0)
    tries = []
    at = 0.0
    while len(tries) < 5:
        if h.due(at):
            tries.append(at)
            h.failed(at, "disk full")
        at += 0.25
    assert tries == [0.0, 1.0, 3.0, 7.0, 11.0]
    h.put(rec(1, "end", last=True), at, "")
    h.written(1)
    assert h.due(at)                            # at once: the rest goes a chunk at a time
    h.failed(at, "disk full")
    assert not h.due(at + 0.9) and h.due(at + 1.0)


def test_a_holding_needs_room():
    with pytest.raises(ValueError):
        Holding(limit=0)
