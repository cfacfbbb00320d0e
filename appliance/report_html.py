"""The manager's report as one HTML file: to open in a browser, mail, or print on A4.

Rules:
  - One self-contained file: CSS inline, charts as inline SVG drawn here, no script, no
    reference to anything outside the file (no fonts, images, links to fetch), UTF-8.
    A Content-Security-Policy forbids all of that even if something slipped in.
  - Every text that comes from the call log or the office's file (caller IDs, agent,
    queue and line names, pause reasons) is escaped for HTML and XML alike, so the
    charts are well-formed SVG; control characters and unencodable code points are
    replaced, not passed through.
  - It prints on A4: each part of the report starts a page, charts fit the page's width
    (680 px = 180 mm at 96 px/in), tables break between rows and repeat their heading.
  - Times are shown in the office's time zone; durations as m:ss or h:mm:ss.
  - A figure with nothing to count (None) is shown as a dash; a chart with nothing to
    draw is replaced by a sentence saying so.
  - Service level is given under both definitions, each named where it appears.
"""
from __future__ import annotations

import html
import math
import re
from datetime import datetime
from typing import Callable, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from appliance.report import AgentRow, LineRow, QueueRow, Report

# Chart colours, one per figure, the same wherever the figure is drawn.
OFFERED = "#4c72b0"
ANSWERED = "#2ca02c"
ABANDONED = "#d62728"
SL_ANSWERED = "#6a3d9a"
SL_HANDLED = "#e67e00"
TALK = "#4c72b0"
WRAPUP = "#17becf"
PAUSED = "#e67e00"
IDLE = "#c7c7c7"
CALLS = "#4c72b0"
LINE_USE = "#8c564b"

WIDTH = 680                 # px: the printable width of A4 with 15 mm margins
DASH = "\u2014"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")     # not the C library's: no locale
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def esc(text: object) -> str:
    """Text for an HTML or SVG text node or attribute value."""
    s = str(text).encode("utf-8", "replace").decode("utf-8")    # lone surrogates become '?'
    return html.escape(_CONTROL.sub("\ufffd", s), quote=True)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


# --- figures as text -------------------------------------------------------------------

def _count(n: Optional[float]) -> str:
    return DASH if n is None else f"{n:,}".replace(",", "\u202f")


def _pct(x: Optional[float]) -> str:
    return DASH if x is None else f"{x * 100:.1f}\u00a0%"


def _dur(s: Optional[float], hours: bool = False) -> str:
    """m:ss, or h:mm:ss from an hour up or when the column is of hours."""
    if s is None:
        return DASH
    t = int(round(s))
    h, m, sec = t // 3600, t // 60 % 60, t % 60
    return f"{h}:{m:02d}:{sec:02d}" if h or hours else f"{m}:{sec:02d}"


def _number(x: float) -> str:
    return f"{x:g}"


class _Clock:
    """Epoch seconds and interval keys as the office's local time."""

    def __init__(self, report: Report):
        self.tz = ZoneInfo(report.timezone)
        self.by = report.by
        first = self.local(report.start)
        last = self.local(max(report.start, report.end - 1))
        self.one_day = first.date() == last.date()

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.tz)

    def when(self, t: float) -> str:
        d = self.local(t)
        return d.strftime("%H:%M:%S") if self.one_day else d.strftime("%Y-%m-%d %H:%M")

    def stamp(self, t: float) -> str:
        d = self.local(t)
        return f"{WEEKDAYS[d.weekday()]} {d:%Y-%m-%d %H:%M} {d.tzname()}"

    def interval(self, key: str) -> str:
        """An interval's start in full, for a table."""
        d = datetime.fromisoformat(key)
        if self.by == "hour":
            # The date and the hour may go on two lines in a crowded table, each kept whole.
            return f"{d:%H:%M}" if self.one_day else \
                f"{WEEKDAYS[d.weekday()]}\u00a0{d.day}\u00a0{MONTHS[d.month - 1]} {d:%H:%M}"
        if self.by == "week":
            return f"week of {d:%Y-%m-%d}"
        return f"{WEEKDAYS[d.weekday()]} {d:%Y-%m-%d}"

    def tick(self, key: str) -> str:
        """An interval's start, short, for a chart's axis."""
        d = datetime.fromisoformat(key)
        day = f"{d.day}\u00a0{MONTHS[d.month - 1]}"
        if self.by == "hour":
            return f"{d:%H}" if self.one_day else f"{day} {d:%H}h"
        return day


# --- charts ----------------------------------------------------------------------------

def _ticks(top: float, integer: bool, count: int = 5) -> List[float]:
    """Round steps from 0 to at least top: 1, 2 or 5 times a power of ten."""
    top = max(top, 1.0 if integer else 1e-9)
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, float(round(step)))
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _svg(height: int, label: str, body: List[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
            f'role="img" aria-label="{esc(label)}">' + "".join(body) + "</svg>")


def _legend(series: Sequence[Tuple[str, str]], x: float, y: float, dashed: Sequence[str] = ()) -> List[str]:
    out = []
    for name, colour in series:
        if name in dashed:
            out.append(f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 14:.1f}" y2="{y - 4:.1f}" '
                       f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/>')
        else:
            out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="14" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 18:.1f}" y="{y:.1f}">{esc(name)}</text>')
        x += 18 + 6.5 * len(name) + 16
    return out


def _x_axis(labels: Sequence[str], left: float, right: float, bottom: float, height: float,
            title: str) -> List[str]:
    """Categories along the bottom, a label under every k-th so that none overlaps the next."""
    band = (right - left) / max(1, len(labels))
    k = max(1, math.ceil((max(map(len, labels), default=0) * 6.5 + 6) / band))
    out = []
    for i, name in enumerate(labels):
        if i % k == 0:
            cx = left + band * (i + 0.5)
            out.append(f'<line class="axis" x1="{cx:.1f}" y1="{bottom:.1f}" x2="{cx:.1f}" y2="{bottom + 4:.1f}"/>')
            out.append(f'<text class="tick" x="{cx:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">{esc(name)}</text>')
    out.append(f'<line class="axis" x1="{left:.1f}" y1="{bottom:.1f}" x2="{right:.1f}" y2="{bottom:.1f}"/>')
    out.append(f'<text class="axis-title" x="{(left + right) / 2:.1f}" y="{height - 6:.1f}" '
               f'text-anchor="middle">{esc(title)}</text>')
    return out


def _y_axis(ticks: List[float], y_of: Callable[[float], float], left: float, right: float,
            fmt: Callable[[float], str], title: str, top: float, bottom: float) -> List[str]:
    out = []
    for t in ticks:
        y = y_of(t)
        out.append(f'<line class="grid" x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{esc(fmt(t))}</text>')
    out.append(f'<line class="axis" x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{bottom:.1f}"/>')
    mid = (top + bottom) / 2
    out.append(f'<text class="axis-title" x="12" y="{mid:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 12 {mid:.1f})">{esc(title)}</text>')
    return out


def bar_chart(labels: Sequence[str], series: Sequence[Tuple[str, str, Sequence[Optional[float]]]],
              y_title: str, x_title: str, label: str, height: int = 250) -> str:
    """Bars side by side per label, one colour per series, counts on the y axis."""
    left, right, top, bottom = 56.0, WIDTH - 10.0, 30.0 if len(series) > 1 else 12.0, height - 42.0
    top_value = max([v for _, _, vs in series for v in vs if v is not None] + [0])
    ticks = _ticks(top_value, integer=True)

    def y_of(v: float) -> float:
        return bottom - (bottom - top) * v / ticks[-1]

    body = _legend([(n, c) for n, c, _ in series], left, 16) if len(series) > 1 else []
    body += _y_axis(ticks, y_of, left, right, _number, y_title, top, bottom)
    band = (right - left) / max(1, len(labels))
    width = band * 0.8 / len(series)
    for i, name in enumerate(labels):
        x0 = left + band * i + band * 0.1
        for j, (sname, colour, values) in enumerate(series):
            v = values[i]
            if v:
                y = y_of(v)
                body.append(f'<rect x="{x0 + j * width:.1f}" y="{y:.1f}" width="{max(width - 1, 1):.1f}" '
                            f'height="{bottom - y:.1f}" fill="{colour}"><title>{esc(name)}: {esc(sname)} '
                            f'{esc(_number(v))}</title></rect>')
    body += _x_axis(labels, left, right, bottom, height, x_title)
    return _svg(height, label, body)


def percent_chart(labels: Sequence[str], series: Sequence[Tuple[str, str, Sequence[Optional[float]]]],
                  reference: Optional[Tuple[str, str, float]], x_title: str, label: str,
                  height: int = 230) -> str:
    """Lines of fractions 0..1 drawn as percent, broken where a value is None; an optional
    dashed reference line across."""
    left, right, top, bottom = 56.0, WIDTH - 10.0, 30.0, height - 42.0
    ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]

    def y_of(v: float) -> float:
        return bottom - (bottom - top) * v

    legend = [(n, c) for n, c, _ in series] + ([(reference[0], reference[1])] if reference else [])
    body = _legend(legend, left, 16, dashed=[reference[0]] if reference else [])
    body += _y_axis(ticks, y_of, left, right, lambda t: f"{t * 100:.0f} %", "service level", top, bottom)
    band = (right - left) / max(1, len(labels))
    if reference:
        y = y_of(reference[2])
        body.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{reference[1]}" '
                    f'stroke-width="1.5" stroke-dasharray="6 4"/>')
    for name, colour, values in series:
        run: List[str] = []
        for i, v in enumerate(list(values) + [None]):
            if v is not None:
                run.append(f"{left + band * (i + 0.5):.1f},{y_of(v):.1f}")
            elif run:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                                f'stroke-width="2"/>')
                run = []
        for i, v in enumerate(values):
            if v is not None:
                body.append(f'<circle cx="{left + band * (i + 0.5):.1f}" cy="{y_of(v):.1f}" r="3" fill="{colour}">'
                            f'<title>{esc(labels[i])}: {esc(name)} {esc(_pct(v))}</title></circle>')
    body += _x_axis(labels, left, right, bottom, height, x_title)
    return _svg(height, label, body)


def hbar_chart(labels: Sequence[str], series: Sequence[Tuple[str, str, Sequence[float]]], ticks: List[float],
               x_fmt: Callable[[float], str], x_title: str, label: str) -> str:
    """One horizontal bar per label, its series stacked left to right, on a scale to ticks[-1]."""
    names = [_clip(s, 22) for s in labels]
    left = 16 + 6.5 * max(len(s) for s in names)
    right, top, row = WIDTH - 24.0, 30.0 if len(series) > 1 else 8.0, 24.0
    bottom = top + row * len(labels)
    height = int(bottom + 42)

    def x_of(v: float) -> float:
        return left + (right - left) * v / ticks[-1]

    body = _legend([(n, c) for n, c, _ in series], left, 16) if len(series) > 1 else []
    for t in ticks:
        x = x_of(t)
        body.append(f'<line class="grid" x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}"/>')
        body.append(f'<text class="tick" x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">{esc(x_fmt(t))}</text>')
    for i, (full, name) in enumerate(zip(labels, names)):
        y = top + row * i
        body.append(f'<text class="tick" x="{left - 6:.1f}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
                    f'{esc(name)}<title>{esc(full)}</title></text>')
        x = left
        for sname, colour, values in series:
            v = values[i]
            if v > 0:
                w = x_of(v) - left
                body.append(f'<rect x="{x:.1f}" y="{y + 4:.1f}" width="{w:.1f}" height="{row - 8:.1f}" '
                            f'fill="{colour}"><title>{esc(full)}: {esc(sname)} {esc(x_fmt(v))}</title></rect>')
                x += w
    body.append(f'<line class="axis" x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{bottom:.1f}"/>')
    body.append(f'<line class="axis" x1="{left:.1f}" y1="{bottom:.1f}" x2="{right:.1f}" y2="{bottom:.1f}"/>')
    body.append(f'<text class="axis-title" x="{(left + right) / 2:.1f}" y="{height - 6:.1f}" '
                f'text-anchor="middle">{esc(x_title)}</text>')
    return _svg(height, label, body)


# --- the report's parts ----------------------------------------------------------------

def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1,
           foot: Optional[Sequence[str]] = None, cls: str = "") -> str:
    """Cells are HTML already escaped by the caller."""
    def tr(cells: Sequence[str], tag: str) -> str:
        return "<tr>" + "".join(
            f'<{tag}{" class=num" if i >= numeric_from else ""}>{c}</{tag}>' for i, c in enumerate(cells)) + "</tr>"
    out = [f'<table class="{cls}">' if cls else "<table>", "<thead>", tr(head, "th"), "</thead><tbody>"]
    out += [tr(r, "td") for r in rows]
    out.append("</tbody>")
    if foot:
        out += ["<tfoot>", tr(foot, "td"), "</tfoot>"]
    out.append("</table>")
    return "".join(out)


def _nowrap(text: str) -> str:
    return f'<span class="nowrap">{esc(text)}</span>'


def _empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'


def _queues(report: Report) -> List[Tuple[str, List[QueueRow], Optional[QueueRow]]]:
    """Each queue's intervals and its total, in the report's order."""
    seen: dict = {}
    for r in report.queues:
        rows, total = seen.setdefault(r.queue, ([], [None]))
        if r.interval is None:
            total[0] = r
        else:
            rows.append(r)
    return [(q, rows, total[0]) for q, (rows, total) in seen.items()]


QUEUE_HEAD = ("Offered", "Answered", "Aban&shy;doned", "Short aban&shy;dons", "Sent on", "Call&shy;backs",
              "SL (answered)", "SL (handled)", "ASA", "AHT", "Longest wait")


def _queue_cells(r: QueueRow) -> List[str]:
    return [_count(r.offered), _count(r.answered), _count(r.abandoned), _count(r.short_abandoned),
            _count(r.sent_on), _count(r.callbacks), _pct(r.sl_over_answered), _pct(r.sl_over_handled),
            _dur(r.asa_s), _dur(r.aht_s), _dur(r.longest_wait_s)]


def _header(report: Report, clock: _Clock) -> str:
    sl, short = _number(report.sl_s), _number(report.short_abandon_s)
    per = report.by
    return (f'<header><h1>Call report: {esc(report.office)}</h1>'
            f'<p class="range">{esc(clock.stamp(report.start))} to {esc(clock.stamp(report.end))}'
            f' &middot; time zone {esc(report.timezone)} &middot; by {esc(per)}</p>'
            f'<div class="definitions"><p><b>Service level</b> counts the callers answered within {esc(sl)} s '
            f'of joining the queue, in two ways:</p><ul>'
            f'<li><b>SL (answered)</b>: answered within {esc(sl)} s, over all answered calls;</li>'
            f'<li><b>SL (handled)</b>: answered within {esc(sl)} s, over answered plus abandoned calls.</li>'
            f'</ul><p>A caller who hung up within {esc(short)} s is a <b>short abandon</b> and counts in neither. '
            f'<b>ASA</b> is the average speed of answer (the mean wait of the answered), <b>AHT</b> the average '
            f'handle time (talk plus wrap-up). <b>Offered</b> counts every caller who reached the queue, '
            f'including those a queue rule sent on.</p></div></header>')


def _overview(report: Report, queues) -> str:
    rows = [[esc(q)] + _queue_cells(total) for q, _, total in queues if total is not None]
    body = (_table(("Queue",) + QUEUE_HEAD, rows, cls="figures") if rows
            else _empty("No calls reached a queue in this range."))
    return (f'<section class="overview"><h2>Queues over the whole range</h2>{body}'
            f'<p>Calls that ended in the menus without reaching an agent: <b>{_count(report.menu_only)}</b>. '
            f'Callers not served: <b>{_count(len(report.unserved))}</b>. '
            f'Every line busy at once: <b>{_count(report.all_lines_busy)}</b> '
            f'time{"" if report.all_lines_busy == 1 else "s"}, {esc(_dur(report.all_lines_busy_s))} in all.</p>'
            f'</section>')


def _queue(report: Report, clock: _Clock, name: str, rows: List[QueueRow], total: Optional[QueueRow]) -> str:
    out = [f'<section class="queue"><h2>Queue {esc(name)}</h2>']
    if not any(r.offered for r in rows) and not (total and total.offered):
        out.append(_empty("No calls in this range."))
        return "".join(out) + "</section>"
    per = report.by
    if rows:
        ticks = [clock.tick(r.interval) for r in rows]
        x_title = {"hour": "hour of the day" if clock.one_day else "day and hour",
                   "week": "week starting"}.get(report.by, "day")
        out.append(f"<h3>Calls by {esc(per)}</h3>")
        out.append(bar_chart(ticks, [("offered", OFFERED, [r.offered for r in rows]),
                                     ("answered", ANSWERED, [r.answered for r in rows]),
                                     ("abandoned", ABANDONED, [r.abandoned for r in rows])],
                             "calls", x_title, f"Queue {name}: calls offered, answered and abandoned by {per}"))
        out.append(f"<h3>Service level by {esc(per)} (answered within {esc(_number(report.sl_s))} s)</h3>")
        reference = (None if total is None or total.sl_over_answered is None else
                     ("SL (answered), whole range", SL_ANSWERED, total.sl_over_answered))
        if any(r.sl_over_answered is not None or r.sl_over_handled is not None for r in rows):
            out.append(percent_chart(ticks, [("SL (answered)", SL_ANSWERED, [r.sl_over_answered for r in rows]),
                                             ("SL (handled)", SL_HANDLED, [r.sl_over_handled for r in rows])],
                                     reference, x_title, f"Queue {name}: service level by {per}"))
        else:
            out.append(_empty("No call was answered or abandoned: no service level to draw."))
    out.append(f"<h3>Figures by {esc(per)}</h3>")
    out.append(_table(("Interval",) + QUEUE_HEAD, [[esc(clock.interval(r.interval))] + _queue_cells(r) for r in rows],
                      foot=(["Whole range"] + _queue_cells(total)) if total else None, cls="figures"))
    return "".join(out) + "</section>"


def _idle(a: AgentRow) -> float:
    return max(0.0, a.logged_in_s - a.talk_s - a.wrapup_s - sum(a.paused_s.values()))


def _agents(report: Report) -> str:
    out = ['<section class="agents"><h2>Agents</h2>']
    if not report.agents:
        out.append(_empty("No agent was logged in or took a call in this range."))
        return "".join(out) + "</section>"
    longest = max(max(a.logged_in_s, a.talk_s + a.wrapup_s + sum(a.paused_s.values())) for a in report.agents)
    if longest > 0:
        hours = longest >= 2 * 3600
        unit = 3600.0 if hours else 60.0
        ticks = [t * unit for t in _ticks(longest / unit, integer=True)]
        out.append("<h3>Time logged in</h3>")
        out.append(hbar_chart([a.agent for a in report.agents],
                              [("talk", TALK, [a.talk_s for a in report.agents]),
                               ("wrap-up", WRAPUP, [a.wrapup_s for a in report.agents]),
                               ("paused", PAUSED, [sum(a.paused_s.values()) for a in report.agents]),
                               ("idle", IDLE, [_idle(a) for a in report.agents])],
                              ticks, (lambda v: f"{v / unit:g} h") if hours else (lambda v: f"{v / unit:g} min"),
                              "time logged in: talking, in wrap-up, paused, idle", "Agents' time logged in"))
    rows = []
    for a in report.agents:
        reasons = ", ".join(f"{esc(k or 'no reason')} {esc(_dur(v))}" for k, v in sorted(a.paused_s.items()))
        paused = _dur(sum(a.paused_s.values()), True) + (f'<div class="reasons">{reasons}</div>' if reasons else "")
        rows.append([esc(a.agent), _count(a.calls), _dur(a.talk_s, True), _dur(a.wrapup_s, True), paused,
                     _dur(_idle(a), True), _dur(a.logged_in_s, True), _count(a.missed), _pct(a.occupancy)])
    out.append(_table(("Agent", "Calls", "Talk", "Wrap-up", "Paused", "Idle", "Logged in", "Missed rings",
                       "Occu&shy;pancy"), rows, cls="figures"))
    out.append('<p class="note">Occupancy is talk plus wrap-up over the time logged in and not paused.</p>')
    return "".join(out) + "</section>"


def _traffic(report: Report) -> str:
    out = ['<section class="traffic"><h2>When the calls came</h2>']
    if not any(report.by_hour) and not any(report.by_weekday):
        out.append(_empty("No calls in this range."))
        return "".join(out) + "</section>"
    out.append("<h3>Calls by hour of the day</h3>")
    out.append(bar_chart([f"{h:02d}" for h in range(len(report.by_hour))],
                         [("calls", CALLS, list(report.by_hour))], "calls",
                         f"hour of the day ({report.timezone})", "Calls by hour of the day", height=220))
    out.append("<h3>Calls by day of the week</h3>")
    out.append(bar_chart(list(WEEKDAYS[: len(report.by_weekday)]), [("calls", CALLS, list(report.by_weekday))],
                         "calls", "day of the week", "Calls by day of the week", height=220))
    return "".join(out) + "</section>"


def _lines(report: Report) -> str:
    busy = report.all_lines_busy
    out = ['<section class="lines"><h2>Lines</h2>',
           f'<p>Every line was in use at once <b>{_count(busy)}</b> time{"" if busy == 1 else "s"}, for '
           f'<b>{esc(_dur(report.all_lines_busy_s))}</b> in all: callers who rang then could not get through.</p>']
    if not report.lines:
        out.append(_empty("No lines in this report."))
        return "".join(out) + "</section>"
    lines: Sequence[LineRow] = report.lines
    if any(r.use > 0 for r in lines):
        out.append("<h3>Use of each line</h3>")
        out.append(hbar_chart([r.line for r in lines], [("in use", LINE_USE, [r.use for r in lines])],
                              [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], lambda v: f"{v * 100:.0f} %",
                              "share of the range with a call on the line", "Use of each line"))
    else:
        out.append(_empty("No line carried a call in this range."))
    out.append(_table(("Line", "Calls", "Busy", "Use"),
                      [[esc(r.line), _count(r.calls), _dur(r.busy_s, True), _pct(r.use)] for r in lines], cls="narrow"))
    return "".join(out) + "</section>"


def _caller(number: str) -> str:
    return esc(number) if number else '<i>withheld</i>'


def _callers(report: Report, clock: _Clock) -> str:
    out = ['<section class="callers"><h2>Callers</h2>', "<h3>Callers not served</h3>"]
    if report.unserved:
        rows = []
        for u in report.unserved:
            again = DASH
            if u.called_again is not None:
                again = f"{esc(clock.when(u.called_again))} (+{esc(_dur(u.called_again - u.at))})"
            rows.append([_caller(u.caller), _nowrap(clock.when(u.at)), esc(u.queue) if u.queue else DASH, esc(u.reason),
                         _dur(u.waited_s), again, "yes" if u.served_later else "<b>no</b>"])
        out.append(_table(("Caller", "Time" if clock.one_day else "Date and time", "Queue", "Why", "Waited",
                           "Called again", "Served later"), rows, numeric_from=4, cls="unserved"))
        left = sum(1 for u in report.unserved if not u.served_later)
        out.append(f'<p class="note">{_count(left)} of them were not served by a later call either.</p>')
    else:
        out.append(_empty("Every caller was served."))
    out.append("<h3>Callers who called more than once</h3>")
    if report.repeat_callers:
        out.append(_table(("Caller", "Calls", "Served"),
                          [[_caller(r.caller), _count(r.calls), _count(r.served)] for r in report.repeat_callers],
                          cls="narrow"))
    else:
        out.append(_empty("No caller called more than once."))
    out.append(f'<p>Calls that ended in the menus without asking for an agent: <b>{_count(report.menu_only)}</b>.</p>')
    return "".join(out) + "</section>"


CSS = """
@page { size: A4; margin: 14mm 15mm 14mm 15mm; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10pt; color: #222;
       background: #fff; }
body { max-width: 180mm; margin: 8mm auto; padding: 0; }
h1, h2, h3 { overflow-wrap: anywhere; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1.5px solid #4c72b0; padding-bottom: 1mm; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm; color: #444; }
p, ul { margin: 1.5mm 0; }
.range { color: #444; }
.definitions { background: #f3f5f9; border-left: 3px solid #4c72b0; padding: 1mm 3mm; margin: 3mm 0;
               font-size: 9pt; }
.definitions ul { padding-left: 6mm; }
table { width: 100%; border-collapse: collapse; margin: 2mm 0; font-size: 7.5pt; table-layout: auto; }
th, td { border-bottom: 1px solid #ddd; padding: 0.8mm 1mm; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #eef1f6; font-weight: bold; hyphens: manual; }
/* Names from the log may be one long word: they wrap anywhere rather than widen the page. */
td:first-child, .unserved td { overflow-wrap: anywhere; min-width: 16mm; }
.num { text-align: right; white-space: nowrap; }
th.num { white-space: normal; }
table.narrow { width: auto; min-width: 60%; }
tfoot td { font-weight: bold; border-top: 1.5px solid #888; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
.nowrap { white-space: nowrap; }
.reasons { font-size: 7pt; color: #666; white-space: normal; }
.empty { color: #666; font-style: italic; }
.note { color: #555; font-size: 8.5pt; }
svg.chart { display: block; width: 100%; max-width: 180mm; height: auto; margin: 1mm 0 3mm; break-inside: avoid; }
svg.chart text { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 11px; fill: #333; }
svg.chart .axis-title { font-size: 11px; fill: #555; }
svg.chart .axis { stroke: #555; stroke-width: 1; }
svg.chart .grid { stroke: #e3e3e3; stroke-width: 1; }
h3 + svg.chart { break-before: avoid; }
h2, h3 { break-after: avoid; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  section { break-before: page; }
  section.overview { break-before: auto; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document."""
    clock = _Clock(report)
    queues = _queues(report)
    parts = [_header(report, clock), _overview(report, queues)]
    parts += [_queue(report, clock, q, rows, total) for q, rows, total in queues]
    parts += [_agents(report), _traffic(report), _lines(report), _callers(report, clock)]
    title = f"Call report: {report.office}, {clock.local(report.start):%Y-%m-%d}"
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{esc(title)}</title><style>{CSS}</style></head>\n<body>\n'
            + "\n".join(parts) + "\n</body></html>\n")
