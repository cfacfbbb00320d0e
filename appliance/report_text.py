"""The report as text for an 80-column serial console, and as CSV for a spreadsheet.

Rules:
  - Text: no line is longer than WIDTH characters, whatever the figures; names too
    long for their column are cut with '~', numbers too wide are shown in thousands
    (k) or millions (M). Durations are h:mm:ss, rates whole percent, '-' for a figure
    with nothing to count. Local times are the report's time zone, named at the top.
  - CSV: one file a spreadsheet opens as it is: UTF-8 with a byte-order mark (Excel
    takes the file as UTF-8 only with it), CRLF line ends, one header row, and a
    `section` column saying what each row is (range, queue, queue-total, agent, pause,
    hour, weekday, all-lines-busy, line, unserved, repeat, menu-only). All sections
    share the one header; a row fills the columns its section has and leaves the rest
    empty. Times are local ISO date-times "YYYY-MM-DD HH:MM:SS" (which spreadsheets read
    as dates), durations seconds, rates fractions from 0 to 1, yes/no for flags.
"""
from __future__ import annotations

import csv
import io
from typing import List, Optional

from appliance.report import SERVED_LATER_DAYS, Report, local, zone_of_report

WIDTH = 80
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
REPEATS_SHOWN = 20


# -- text ------------------------------------------------------------------------------

def _cut(s: str, width: int) -> str:
    return s if len(s) <= width else s[:width - 1] + "~"


def _n(x: Optional[float], width: int) -> str:
    """A count that fits its column."""
    if x is None:
        return "-".rjust(width)
    for div, unit in ((1, ""), (1e3, "k"), (1e6, "M"), (1e9, "G")):
        s = f"{round(x / div):d}{unit}"
        if len(s) <= width:
            return s.rjust(width)
    return "#" * width


def _pct(x: Optional[float], width: int = 4) -> str:
    return "-".rjust(width) if x is None else _n(round(x * 100), width - 1) + "%"


def _dur(s: Optional[float], width: int = 9) -> str:
    if s is None:
        return "-".rjust(width)
    s = int(round(s))
    text = f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if len(text) > width:
        text = f"{s // 3600}h"
    if len(text) > width:
        text = _n(s // 3600, width - 1).strip() + "h"
    return text.rjust(width)


def _when(r: Report, t: float, fmt: str) -> str:
    return local(t, zone_of_report(r)).strftime(fmt)


def render_text(r: Report) -> str:
    out: List[str] = []
    add = out.append
    add(_cut(f"Call report: {r.office}", WIDTH))
    add(_cut(f"Calls started {_when(r, r.start, '%Y-%m-%d %H:%M')} to {_when(r, r.end, '%Y-%m-%d %H:%M')}, "
             f"by {r.by}", WIDTH))
    whose = "the office's" if r.timezone_of == "office" else "this machine's, no --config given"
    add(_cut(f"Times in {r.timezone} ({whose})", WIDTH))
    add("SL1 = answered within the target / answered;")
    add("SL2 = answered within the target / (answered + abandoned).")
    add(_cut(f"Short abandons (hung up within {r.short_abandon_s:g} s) are counted apart, in neither.", WIDTH))
    add("ASA = mean wait of the answered; AHT = mean talk + wrap-up of the answered.")

    add("")
    add("QUEUES  offer: offered, ans: answered, aband: abandoned, short: short abandons,")
    add("        sent: sent on by a rule, cb: took a callback, inSL: answered in SL")
    head = (f"{'interval':<14} {'offer':>5} {'ans':>5} {'aband':>5} {'short':>5} {'sent':>4} {'cb':>3} "
            f"{'inSL':>5} {'SL1':>4} {'SL2':>4} {'ASA':>4} {'AHT':>5} {'maxW':>5}")
    current = None
    for q in r.queues:
        if q.queue != current:
            current = q.queue
            sl = q.sl_s if q.sl_s is not None else r.sl_s
            add("")
            add(_cut(f"{q.queue}: service-level target {sl:g} s", WIDTH))
            add(head)
        interval = q.interval if q.interval is not None else "total"
        if r.by == "hour" and q.interval is not None:
            interval = interval.replace("T", " ")[:13] + "h"
        add(f"{interval:<14} {_n(q.offered, 5)} {_n(q.answered, 5)} {_n(q.abandoned, 5)} "
            f"{_n(q.short_abandoned, 5)} {_n(q.sent_on, 4)} {_n(q.callbacks, 3)} {_n(q.answered_in_sl, 5)} "
            f"{_pct(q.sl_over_answered)} {_pct(q.sl_over_handled)} {_n(q.asa_s, 4)} {_n(q.aht_s, 5)} "
            f"{_n(q.longest_wait_s, 5)}")
    if not r.queues:
        add("no queue calls")
    add("(ASA, AHT and maxW, the longest wait, in seconds)")

    add("")
    add("AGENTS  occ: (talk + wrap-up) / (logged in - paused)")
    add(f"{'agent':<14} {'calls':>5} {'talk':>9} {'wrap-up':>9} {'paused':>9} {'logged in':>9} {'missed':>6} "
        f"{'occ':>5}")
    for a in r.agents:
        add(f"{_cut(a.agent, 14):<14} {_n(a.calls, 5)} {_dur(a.talk_s)} {_dur(a.wrapup_s)} "
            f"{_dur(sum(a.paused_s.values()))} {_dur(a.logged_in_s)} {_n(a.missed, 6)} {_pct(a.occupancy, 5)}")
    pauses = [(a.agent, why, s) for a in r.agents for why, s in sorted(a.paused_s.items())]
    if pauses:
        add("")
        add(f"{'paused':<14} {'reason':<30} {'time':>9}")
        for agent, why, s in pauses:
            add(f"{_cut(agent, 14):<14} {_cut(why, 30):<30} {_dur(s)}")
    if not r.agents:
        add("no agents")
    add("Logged in: from a login to a logout, cut at the range's ends; after a crash,")
    add("to the agent's last sign in the log before the box's next start.")

    add("")
    add("CALLS BY HOUR OF DAY")
    for row in range(6):
        add("   ".join(f"{h:02d}:00 {_n(r.by_hour[h], 7)}" for h in range(row, 24, 6)))
    add("CALLS BY DAY OF WEEK")
    add(" ".join(f"{d} {_n(n, 6)}" for d, n in zip(WEEKDAYS, r.by_weekday)))

    add("")
    n = len(r.lines)
    add(_cut(f"LINES  all {n} in use at once: {r.all_lines_busy} times, "
             f"{_dur(r.all_lines_busy_s).strip()} in all", WIDTH))
    add(f"{'line':<20} {'calls':>7} {'in use':>10} {'use':>5}")
    for ln in r.lines:
        add(f"{_cut(ln.line, 20):<20} {_n(ln.calls, 7)} {_dur(ln.busy_s, 10)} {_pct(ln.use, 5)}")

    add("")
    add(f"UNSERVED CALLERS  again: their next call within {SERVED_LATER_DAYS} days (past the")
    add("range's end too); served: an agent answered one of those calls, or a call back")
    add(f"{'time':<11} {'caller':<16} {'queue':<10} {'reason':<13} {'wait':>5} {'again':<11} served")
    for u in r.unserved:
        again = _when(r, u.called_again, "%m-%d %H:%M") if u.called_again is not None else "-"
        add(f"{_when(r, u.at, '%m-%d %H:%M'):<11} {_cut(u.caller or '(withheld)', 16):<16} "
            f"{_cut(u.queue or '-', 10):<10} {_cut(u.reason, 13):<13} {_n(u.waited_s, 5)} {again:<11} "
            f"{'yes' if u.served_later else 'no'}")
    if not r.unserved:
        add("none")

    add("")
    add("REPEAT CALLERS  two calls or more in the range")
    add(f"{'caller':<20} {'calls':>6} {'served':>6}")
    for c in r.repeat_callers[:REPEATS_SHOWN]:
        add(f"{_cut(c.caller, 20):<20} {_n(c.calls, 6)} {_n(c.served, 6)}")
    if len(r.repeat_callers) > REPEATS_SHOWN:
        add(f"and {len(r.repeat_callers) - REPEATS_SHOWN} more (all of them in the CSV)")
    if not r.repeat_callers:
        add("none")

    add("")
    add(f"Calls that ended in the menus without reaching a queue: {r.menu_only}")
    return "\n".join(out) + "\n"


# -- CSV -------------------------------------------------------------------------------

COLUMNS = ("section", "queue", "interval", "agent", "reason", "line", "call", "time", "caller",
           "offered", "answered", "abandoned", "short_abandoned", "sent_on", "callbacks", "answered_in_sl",
           "sl_s", "sl_over_answered", "sl_over_handled", "asa_s", "aht_s", "longest_wait_s",
           "calls", "served", "talk_s", "wrapup_s", "paused_s", "logged_in_s", "missed", "occupancy",
           "hour", "weekday", "times", "busy_s", "use", "waited_s", "called_again", "served_later",
           "until", "timezone", "by", "short_abandon_s", "served_later_days")


def _num(x: Optional[float], digits: int = 1) -> str:
    if x is None:
        return ""
    return str(x) if isinstance(x, int) else f"{round(x, digits):.{digits}f}"


def render_csv(r: Report) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\r\n")
    w.writeheader()
    iso = lambda t: _when(r, t, "%Y-%m-%d %H:%M:%S")   # noqa: E731

    def row(section: str, **values) -> None:
        w.writerow({"section": section, **values})

    row("range", time=iso(r.start), until=iso(r.end), timezone=f"{r.timezone} ({r.timezone_of})", by=r.by,
        sl_s=_num(r.sl_s),
        short_abandon_s=_num(r.short_abandon_s), served_later_days=SERVED_LATER_DAYS)
    for q in r.queues:
        interval = ""
        if q.interval is not None:
            interval = q.interval.replace("T", " ") + (":00" if r.by == "hour" else "")
        row("queue" if q.interval is not None else "queue-total", queue=q.queue, interval=interval,
            offered=q.offered, answered=q.answered, abandoned=q.abandoned, short_abandoned=q.short_abandoned,
            sent_on=q.sent_on, callbacks=q.callbacks, answered_in_sl=q.answered_in_sl,
            sl_s=_num(q.sl_s if q.sl_s is not None else r.sl_s), sl_over_answered=_num(q.sl_over_answered, 4),
            sl_over_handled=_num(q.sl_over_handled, 4), asa_s=_num(q.asa_s), aht_s=_num(q.aht_s),
            longest_wait_s=_num(q.longest_wait_s))
    for a in r.agents:
        row("agent", agent=a.agent, calls=a.calls, talk_s=_num(a.talk_s), wrapup_s=_num(a.wrapup_s),
            paused_s=_num(sum(a.paused_s.values())), logged_in_s=_num(a.logged_in_s), missed=a.missed,
            occupancy=_num(a.occupancy, 4))
    for a in r.agents:
        for why, s in sorted(a.paused_s.items()):
            row("pause", agent=a.agent, reason=why, paused_s=_num(s))
    for h, n in enumerate(r.by_hour):
        row("hour", hour=h, calls=n)
    for d, n in zip(WEEKDAYS, r.by_weekday):
        row("weekday", weekday=d, calls=n)
    row("all-lines-busy", times=r.all_lines_busy, busy_s=_num(r.all_lines_busy_s))
    for ln in r.lines:
        row("line", line=ln.line, calls=ln.calls, busy_s=_num(ln.busy_s), use=_num(ln.use, 4))
    for u in r.unserved:
        row("unserved", call=u.call, time=iso(u.at), caller=u.caller, queue=u.queue or "", reason=u.reason,
            waited_s=_num(u.waited_s), called_again=iso(u.called_again) if u.called_again is not None else "",
            served_later="yes" if u.served_later else "no")
    for c in r.repeat_callers:
        row("repeat", caller=c.caller, calls=c.calls, served=c.served)
    row("menu-only", calls=r.menu_only)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


