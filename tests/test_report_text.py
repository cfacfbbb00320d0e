"""The report's renderings: the text fits an 80-column console whatever the figures
(long names, huge counts, nothing at all), and the CSV is what a spreadsheet opens as
it is: UTF-8 with a byte-order mark, one header, a section per row, ISO local times."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

from appliance.report import AgentRow, LineRow, QueueRow, RepeatCaller, Report, Unserved
from appliance.report_text import COLUMNS, WIDTH, render_csv, render_text

KYIV = zoneinfo.ZoneInfo("Europe/Kyiv")
T0 = dt.datetime(2025, 3, 3, tzinfo=KYIV).timestamp()


def sample(big: bool = False) -> Report:
    n = 10 ** 9 if big else 1
    name = "a-queue-with-a-very-long-name-indeed" if big else "support"
    q = QueueRow(name, "2025-03-03T09:00", 12 * n, 9 * n, 2 * n, 1 * n, 0, 1, 7 * n, 7 / 9, 7 / 11,
                 14.5 * n, 250.25 * n, 61.0 * n, 30.0)
    total = QueueRow(name, None, 12 * n, 9 * n, 2 * n, 1 * n, 0, 1, 7 * n, 7 / 9, 7 / 11, 14.5, 250.2, 61.0)
    empty = QueueRow("sales", None, 0, 0, 0, 0, 0, 0, 0, None, None, None, None, None)
    agent = AgentRow("olena-the-agent-with-a-long-name" if big else "olena", 9 * n, 1800.0 * n, 90.0,
                     {"lunch break of a very long kind indeed, really": 1800.0 * n, "coffee": 300.0}, 28800.0 * n,
                     2 * n, 0.07)
    idle = AgentRow("ivan", 0, 0.0, 0.0, {}, 0.0, 0, None)
    unserved = (Unserved(41, T0 + 9 * 3600, "+380501234567890123" if big else "0501234567", name, "short-abandon",
                         3.0 * n, T0 + 10 * 3600, True),
                Unserved(42, T0 + 9.5 * 3600, "", None, "after-hours", 0.0, None, False))
    return Report("Kyiv Office, the one with a very long name that goes on and on" if big else "Kyiv Office",
                  "Europe/Kyiv", T0, T0 + 86400, "hour", 20.0, 5.0, (q, total, empty), (agent, idle),
                  tuple(range(24)) if not big else (n,) * 24, (n,) * 7, 3 * n, 125.0 * n,
                  (LineRow("line1", 5 * n, 3600.0 * n, 0.0417), LineRow("line2-long-name-of-a-line", 0, 0.0, 0.0)),
                  unserved, tuple(RepeatCaller(f"05{k:08d}", 3 * n, n) for k in range(25)), 4 * n)


def test_the_text_fits_eighty_columns_whatever_the_figures():
    for big in (False, True):
        text = render_text(sample(big))
        wide = [line for line in text.splitlines() if len(line) > WIDTH]
        assert wide == [], wide
    empty = Report("Nothing", "UTC", 0.0, 86400.0, "day", 20.0, 5.0, (), (), (0,) * 24, (0,) * 7, 0, 0.0, (), (),
                   (), 0, timezone_of="machine")
    text = render_text(empty)
    assert all(len(line) <= WIDTH for line in text.splitlines())
    assert "this machine's" in text and "no queue calls" in text


def test_the_text_says_what_it_counts():
    text = render_text(sample())
    assert "Times in Europe/Kyiv (the office's)" in text
    assert "2025-03-03 00:00 to 2025-03-04 00:00, by hour" in text
    assert "SL2 = answered within the target / (answered + abandoned)" in text
    assert "Short abandons (hung up within 5 s)" in text
    row = next(line for line in text.splitlines() if line.startswith("2025-03-03 09h"))
    assert row.split() == ["2025-03-03", "09h", "12", "9", "2", "1", "0", "1", "7", "78%", "64%", "14", "250", "61"]
    assert "support: service-level target 30 s" in text and "sales: service-level target 20 s" in text
    olena = next(line for line in text.splitlines() if line.startswith("olena "))
    assert olena.split() == ["olena", "9", "0:30:00", "0:01:30", "0:35:00", "8:00:00", "2", "7%"]
    assert "03-03 09:00 0501234567       support    short-abandon     3 03-03 10:00 yes" in text
    assert "(withheld)" in text and "after-hours" in text
    assert "and 5 more (all of them in the CSV)" in text
    assert "LINES  all 2 in use at once: 3 times, 0:02:05 in all" in text
    assert "09:00       9" in text


def test_the_csv_opens_in_a_spreadsheet_as_it_is():
    data = render_csv(sample())
    assert data.startswith(b"\xef\xbb\xbfsection,") and b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(COLUMNS)
    sections = [r["section"] for r in rows]
    assert sections[0] == "range" and sections[-1] == "menu-only"
    assert {"queue", "queue-total", "agent", "pause", "hour", "weekday", "all-lines-busy", "line", "unserved",
            "repeat"} <= set(sections)
    assert rows[0]["time"] == "2025-03-03 00:00:00" and rows[0]["until"] == "2025-03-04 00:00:00"
    queue = next(r for r in rows if r["section"] == "queue")
    assert (queue["interval"], queue["offered"], queue["sl_over_answered"], queue["sl_s"]) == (
        "2025-03-03 09:00:00", "12", "0.7778", "30.0")
    totals = [r for r in rows if r["section"] == "queue-total"]
    assert [(r["queue"], r["interval"], r["asa_s"]) for r in totals] == [("support", "", "14.5"), ("sales", "", "")]
    unserved = [r for r in rows if r["section"] == "unserved"]
    assert (unserved[0]["time"], unserved[0]["called_again"], unserved[0]["served_later"]) == (
        "2025-03-03 09:00:00", "2025-03-03 10:00:00", "yes")
    assert unserved[1]["called_again"] == "" and unserved[1]["served_later"] == "no"
    assert len([r for r in rows if r["section"] == "repeat"]) == 25
    assert [r["reason"] for r in rows if r["section"] == "pause"] == [
        "coffee", "lunch break of a very long kind indeed, really"]
    # Each section fills the same columns on every one of its rows.
    filled = {}
    for r in rows:
        cols = frozenset(k for k, v in r.items() if v != "")
        filled.setdefault(r["section"], set()).add(cols)
    for section in ("queue", "hour", "weekday", "line", "repeat"):
        assert len(filled[section]) == 1, section
    # A figure with nothing to count stays empty: ivan has no occupancy.
    assert set.union(*map(set, filled["agent"])) - set.intersection(*map(set, filled["agent"])) == {"occupancy"}
    for r in rows:
        for key in ("time", "until", "called_again", "interval"):
            if r[key]:
                dt.datetime.strptime(r[key], "%Y-%m-%d %H:%M:%S")
