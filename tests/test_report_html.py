"""The HTML report: one well-formed, self-contained file (no script, nothing fetched),
every text from the log escaped in the tables and the SVG charts alike, the A4 page rule,
the figures where a manager looks for them, sensible pages when there is nothing to
count; and in headless Chromium, a screenshot with the charts drawn and an A4 PDF."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from appliance import report_html
from appliance.report import AgentRow, LineRow, Report, Unserved
from appliance.report_html import render_html
from report_sample import at, empty, qrow, sample

HOSTILE = ['<script>alert("x")</script>', "Tom & Jerry's \"desk\"", "</svg><b>x</b>", "a]]>b<!--c-->",
           "<img src=x onerror=alert(1)>", "bell\x07\x00nul", "\ud800lone"]

# --- parsing what was written ----------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class Tree(HTMLParser):
    """Checks tags nest and close; collects the text, the tags and their attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.text, self.errors = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(doc: str) -> Tree:
    t = Tree()
    t.feed(doc)
    t.close()
    assert not t.errors, t.errors[:5]
    assert not t.stack, t.stack
    return t


def svgs(doc: str):
    """Each inline chart, parsed as XML: it must be well-formed on its own."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", doc, flags=re.S)]


def text_of(doc: str) -> str:
    return " ".join("".join(parse(doc).text).split())


# --- the document ----------------------------------------------------------------------

def test_a_day_renders_as_one_well_formed_self_contained_file():
    doc = render_html(sample())
    assert doc.startswith("<!DOCTYPE html>")
    tree = parse(doc)
    assert tree.tags[0] == ("html", {"lang": "en"})
    assert ("meta", {"charset": "utf-8"}) in tree.tags
    assert "<script" not in doc.lower()
    assert "http://" not in doc and "https://" not in doc
    assert not re.search(r"\b(src|href)\s*=", doc)
    assert "url(" not in doc and "@import" not in doc and "@font-face" not in doc
    assert not re.search(r"\son[a-z]+\s*=", doc)         # no event handlers
    doc.encode("utf-8")
    charts = svgs(doc)
    # Per queue: calls and service level; agents; hour and weekday; lines.
    assert len(charts) == 2 * 2 + 1 + 2 + 1
    for svg in charts:
        assert svg.get("viewBox").startswith("0 0 680 ")
        assert int(svg.get("width")) == report_html.WIDTH
        assert svg.iter("text") and any(t.get("class") == "tick" for t in svg.iter("text"))


def test_it_prints_on_a4_with_a_page_per_part():
    doc = render_html(sample())
    css = re.search(r"<style>(.*?)</style>", doc, flags=re.S).group(1)
    page = re.search(r"@page\s*{([^}]*)}", css).group(1)
    assert re.search(r"size:\s*A4", page) and "margin" in page
    assert re.search(r"section\s*{\s*break-before:\s*page", css)
    # 180 mm of content: A4's 210 mm less two 15 mm margins; charts are 680 px = 180 mm wide.
    margins = re.search(r"margin:\s*([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm", page).groups()
    assert 210 - float(margins[1]) - float(margins[3]) == pytest.approx(report_html.WIDTH * 25.4 / 96, abs=0.5)


def test_the_header_names_the_office_range_zone_and_both_service_level_definitions():
    text = text_of(render_html(sample()))
    assert "Call report: Demo Trading Ltd" in text
    assert "Mon 2026-03-02 00:00 EET to Tue 2026-03-03 00:00 EET" in text
    assert "Europe/Kyiv" in text
    assert "SL (answered): answered within 20 s, over all answered calls" in text
    assert "SL (handled): answered within 20 s, over answered plus abandoned calls" in text
    assert "hung up within 5 s is a short abandon" in text


def cells(doc: str, section: str):
    """The rows of the first table in the section of that class, as lists of cell texts."""
    part = re.search(rf'<section class="{section}">(.*?)</section>', doc, flags=re.S).group(1)
    table = re.search(r"<table.*?</table>", part, flags=re.S).group(0)
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    return [[" ".join(" ".join(parse(c).text).replace("\xad", "").split()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in rows]


def test_each_queue_has_its_intervals_and_total_with_every_figure():
    doc = render_html(sample())
    rows = cells(doc, "queue")
    assert rows[0][:4] == ["Interval", "Offered", "Answered", "Abandoned"]
    assert rows[0][-3:] == ["ASA", "AHT", "Longest wait"]
    # 10:00 on sales: 22 offered, 18 answered, 3 abandoned, 1 short, 13 of 18 in 20 s.
    assert rows[2] == ["10:00", "22", "18", "3", "1", "0", "0", "72.2 %", "61.9 %", "0:22", "4:40", "1:10"]
    total = rows[-1]
    assert total[:8] == ["Whole range", "115", "102", "10", "3", "2", "1", "85.3 %"]
    assert total[-3:] == ["0:17", "4:11", "1:35"]
    overview = cells(doc, "overview")
    assert [r[0] for r in overview] == ["Queue", "sales", "support"]
    assert overview[1][1:4] == ["115", "102", "10"]


def test_a_figure_with_nothing_to_count_is_a_dash_not_zero():
    doc = render_html(sample())
    support = re.findall(r'<section class="queue">.*?</section>', doc, flags=re.S)[1]
    row_11 = [r for r in cells(support, "queue") if r and r[0] == "11:00"][0]
    assert row_11 == ["11:00", "0", "0", "0", "0", "0", "0", "\u2014", "\u2014", "\u2014", "\u2014", "\u2014"]


def test_agents_lines_and_callers_carry_their_figures():
    doc = render_html(sample())
    agents = cells(doc, "agents")
    assert agents[0] == ["Agent", "Calls", "Talk", "Wrap-up", "Paused", "Idle", "Logged in", "Missed rings",
                         "Occupancy"]
    assert agents[1] == ["olena", "30", "2:00:00", "0:20:00", "0:30:00 break 0:00, lunch 30:00", "5:10:00",
                         "8:00:00", "0", "40.0 %"]
    lines = cells(doc, "lines")
    assert lines[1] == ["line1", "60", "4:10:00", "17.4 %"]
    unserved = cells(doc, "callers")
    assert unserved[0] == ["Caller", "Time", "Queue", "Why", "Waited", "Called again", "Served later"]
    assert unserved[1] == ["0501234567", "10:12:05", "sales", "abandoned", "1:04", "10:31:40 (+19:35)", "yes"]
    assert unserved[2][:2] == ["withheld", "14:03:59"] and unserved[2][-1] == "no"
    assert unserved[3][2] == "\u2014"
    text = text_of(doc)
    assert "Every line was in use at once 3 times, for 3:35 in all" in text
    assert "ended in the menus without asking for an agent: 12" in text
    repeat = re.search(r"more than once</h3>(<table.*?</table>)", doc, flags=re.S).group(1)
    assert "0679998877" in repeat


def test_times_are_in_the_office_zone_across_a_clock_change():
    # Kyiv moves to summer time on the last Sunday of March: 29 March 2026, 03:00 EET -> 04:00 EEST.
    r = sample()
    start, end = at(0, day=28), at(0, day=31)
    u = Unserved(call=1, at=datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("UTC")).timestamp(), caller="1",
                 queue="sales", reason="abandoned", waited_s=5.0, called_again=None, served_later=False)
    r2 = Report(**{**r.__dict__, "start": start, "end": end, "unserved": (u,)})
    text = text_of(render_html(r2))
    assert "Sat 2026-03-28 00:00 EET to Tue 2026-03-31 00:00 EEST" in text
    assert "2026-03-29 05:30" in text                  # 02:30 UTC in EEST (UTC+3)


def test_hostile_text_from_the_log_is_escaped_everywhere():
    for evil in HOSTILE:
        r = sample(office=evil, queue_names=(evil, evil + "2"), agent_names=(evil, "ivan", evil * 3),
                   caller=evil, line_names=(evil, "line2"))
        doc = render_html(r)
        tree = parse(doc)
        assert not any(tag in ("script", "img") for tag, _ in tree.tags), tree.tags
        assert "<script" not in doc and "<img" not in doc and "</svg><b>" not in doc
        assert "\x00" not in doc and "\x07" not in doc
        doc.encode("utf-8")
        charts = svgs(doc)
        assert len(charts) == 8
        labels = " ".join("".join(t.itertext()) for svg in charts for t in svg.iter("title"))
        # Shown as written, but for control characters and what UTF-8 cannot carry.
        shown = report_html.esc(evil).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
            .replace("&#x27;", "'").replace("&amp;", "&")
        assert shown in labels
        assert shown in text_of(doc)


def test_hostile_text_in_a_pause_reason_and_a_withheld_caller():
    r = sample()
    a = r.agents[0]
    odd = AgentRow(**{**a.__dict__, "paused_s": {"<i>lunch</i> & \"tea\"": 60.0, "": 30.0}})
    doc = render_html(Report(**{**r.__dict__, "agents": (odd,) + r.agents[1:]}))
    assert "&lt;i&gt;lunch&lt;/i&gt; &amp; &quot;tea&quot;" in doc
    assert "no reason 0:30" in text_of(doc)


def test_no_calls_says_so_instead_of_drawing_empty_charts():
    doc = render_html(empty())
    parse(doc)
    assert "<svg" not in doc
    text = text_of(doc)
    assert "No calls reached a queue in this range." in text
    assert "No agent was logged in or took a call in this range." in text
    assert "No calls in this range." in text
    assert "Every caller was served." in text
    assert "No caller called more than once." in text


def test_a_queue_with_no_calls_and_agents_with_no_time_draw_no_chart():
    r = empty()
    quiet = (qrow("sales", "2026-03-02T09:00:00", 0, 0, 0, 0, 0), qrow("sales", None, 0, 0, 0, 0, 0))
    idle = (AgentRow(agent="olena", calls=0, talk_s=0.0, wrapup_s=0.0, paused_s={}, logged_in_s=0.0, missed=0,
                     occupancy=None),)
    lines = (LineRow(line="line1", calls=0, busy_s=0.0, use=0.0),)
    doc = render_html(Report(**{**r.__dict__, "queues": quiet, "agents": idle, "lines": lines}))
    parse(doc)
    assert "<svg" not in doc
    assert "No line carried a call in this range." in text_of(doc)


def test_a_queue_where_nobody_was_answered_or_abandoned_has_no_service_level_line():
    r = empty()
    sent = (qrow("sales", "2026-03-02T09:00:00", 3, 0, 0, 1, 0, sent_on=2, longest=4.0),
            qrow("sales", None, 3, 0, 0, 1, 0, sent_on=2, longest=4.0))
    doc = render_html(Report(**{**r.__dict__, "queues": sent}))
    assert len(svgs(doc)) == 1
    assert "no service level to draw" in text_of(doc)


def test_the_service_level_chart_breaks_its_line_at_an_interval_with_nothing_to_count():
    doc = render_html(sample())
    support = re.findall(r'<section class="queue">.*?</section>', doc, flags=re.S)[1]
    sl = svgs(support)[1]
    lines = [p for p in sl.iter("polyline") if p.get("stroke") == report_html.SL_ANSWERED]
    assert [len(p.get("points").split()) for p in lines] == [2, 2]     # 09-10, then 12-13; 11:00 had no call
    dots = [c for c in sl.iter("circle") if c.get("fill") == report_html.SL_ANSWERED]
    assert len(dots) == 4


def test_bars_are_as_tall_as_their_figures():
    doc = render_html(sample())
    traffic = re.search(r'<section class="traffic">.*?</section>', doc, flags=re.S).group(0)
    by_hour = svgs(traffic)[0]
    bars = [b for b in by_hour.iter("rect") if b.get("fill") == report_html.CALLS]
    assert len(bars) == 9                                # the hours with calls
    heights = {round(float(b.get("height")), 1) for b in bars}
    tallest = max(float(b.get("height")) for b in bars)
    shortest = min(float(b.get("height")) for b in bars)
    assert tallest / shortest == pytest.approx(31 / 1, rel=0.02)
    assert len(heights) == 9
    ticks = [t.text for t in by_hour.iter("text") if t.get("class") == "tick"]
    assert ticks[:4] == ["0", "10", "20", "30"] and "23" in ticks


def test_ticks_are_round_and_cover_the_top():
    assert report_html._ticks(31, integer=True) == [0, 10, 20, 30, 40]
    assert report_html._ticks(4, integer=True) == [0, 1, 2, 3, 4]
    assert report_html._ticks(0, integer=True) == [0, 1]
    assert report_html._ticks(0.37, integer=False) == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    assert report_html._ticks(1230, integer=True) == [0, 500, 1000, 1500]


def test_crowded_axes_show_every_few_labels():
    r = sample()
    rows = tuple(qrow("sales", f"2026-03-{d:02d}T{h:02d}:00:00", 5, 4, 1, 0, 3) for d in (2, 3, 4)
                 for h in range(24)) + (qrow("sales", None, 360, 288, 72, 0, 216),)
    doc = render_html(Report(**{**r.__dict__, "end": at(0, day=5), "queues": rows}))
    calls = svgs(doc)[0]
    ticks = [t.text for t in calls.iter("text") if t.get("class") == "tick" and "h" in (t.text or "")]
    assert 6 <= len(ticks) <= 30
    assert ticks[0] == "2\xa0Mar 00h"


# --- in a browser ----------------------------------------------------------------------

def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("chromium is not installed (tools/install-deps installs Debian's package)")
    return path


def headless(html_path: Path, *args: str, tmp: Path) -> None:
    r = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                        f"--user-data-dir={tmp / 'profile'}", *args, html_path.as_uri()],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]


def png_pixels(data: bytes) -> np.ndarray:
    """An 8-bit RGB or RGBA PNG as an array of rows of pixels (height, width, channels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, head = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    width, height, depth, colour, _, _, interlace = head
    assert depth == 8 and colour in (2, 6) and interlace == 0, head
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(height, 1 + width * bpp)
    out = np.zeros((height, width * bpp), dtype=np.uint8)
    prev = np.zeros(width * bpp, dtype=np.int64)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        if kind == 0:
            row = line
        elif kind == 1:        # Sub: a running sum along each channel
            row = np.cumsum(line.reshape(width, bpp), axis=0).reshape(-1) % 256
        elif kind == 2:        # Up
            row = (line + prev) % 256
        else:                  # Average and Paeth depend on the pixel just decoded
            row = np.zeros_like(line)
            for x in range(width * bpp):
                a = row[x - bpp] if x >= bpp else 0
                b = prev[x]
                if kind == 3:
                    row[x] = (line[x] + (a + b) // 2) % 256
                else:
                    c = prev[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    row[x] = (line[x] + pred) % 256
        out[y] = row
        prev = row
    return out.reshape(height, width, bpp)


def colour_count(pixels: np.ndarray, hex_colour: str) -> int:
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return int(np.all(pixels[:, :, :3] == rgb, axis=2).sum())


def test_png_reader_agrees_with_a_known_image():
    # 2x2 RGB, one row Sub-filtered, one Up-filtered, one Paeth row after them.
    rows = [bytes([1, 10, 20, 30, 5, 5, 5]), bytes([2, 1, 1, 1, 0, 0, 0]), bytes([4, 0, 0, 0, 1, 1, 1])]
    ihdr = struct.pack(">IIBBBBB", 2, 3, 8, 2, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows))) \
        + chunk(b"IEND", b"")
    px = png_pixels(png)
    assert px[0].tolist() == [[10, 20, 30], [15, 25, 35]]
    assert px[1].tolist() == [[11, 21, 31], [15, 25, 35]]
    # Paeth of the first pixel predicts from above (11, 21, 31); of the second from above-left or above.
    assert px[2].tolist() == [[11, 21, 31], [16, 26, 36]]


@pytest.fixture(scope="module")
def rendered():
    chromium()
    tmp = Path(tempfile.mkdtemp(prefix="report-html-"))
    page = tmp / "report.html"
    page.write_text(render_html(sample()), encoding="utf-8")
    yield tmp, page
    shutil.rmtree(tmp, ignore_errors=True)


def test_chromium_draws_the_charts(rendered):
    tmp, page = rendered
    shot = tmp / "shot.png"
    headless(page, f"--screenshot={shot}", "--window-size=1240,1754", tmp=tmp)
    pixels = png_pixels(shot.read_bytes())
    assert pixels.shape[:2] == (1754, 1240)
    white = np.all(pixels[:, :, :3] == 255, axis=2).mean()
    assert 0.5 < white < 0.98, white                      # a page with things on it, not blank
    # The first queue's calls chart: each bar colour drawn over a sizeable area.
    for colour in (report_html.OFFERED, report_html.ANSWERED, report_html.ABANDONED):
        assert colour_count(pixels, colour) > 500, colour
    # Its service-level lines, thin but there.
    assert colour_count(pixels, report_html.SL_HANDLED) > 100


def wide() -> Report:
    """Three days by hour, with names and caller IDs as long as one word can be."""
    long = "Customer-Service-Department-Of-The-Southern-Region" * 2
    r = sample(office=long, queue_names=(long, "support"), agent_names=(long, "ivan", "maria"),
               caller="+380" + "4" * 60, line_names=(long, "line2"))
    rows = tuple(qrow(long, f"2026-03-{d:02d}T{h:02d}:00:00", 1005 + h, 1004, 1, 0, 3, asa=3600.0, aht=36000.0,
                      longest=36000.0) for d in (2, 3, 4) for h in range(24))
    total = (qrow(long, None, 72000, 72000, 0, 0, 1, asa=3600.0, aht=36000.0, longest=360000.0),)
    return Report(**{**r.__dict__, "end": at(0, day=5), "queues": rows + total + r.queues[-6:]})


def test_chromium_keeps_long_tables_and_names_within_the_page_width(tmp_path):
    page = tmp_path / "wide.html"
    page.write_text(render_html(wide()), encoding="utf-8")
    shot = tmp_path / "wide.png"
    headless(page, f"--screenshot={shot}", "--window-size=1240,1754", tmp=tmp_path)
    pixels = png_pixels(shot.read_bytes())[:, :, :3]
    used = np.nonzero((pixels != 255).any(axis=2).any(axis=0))[0]
    # The page is 180 mm = 680 px wide, centred in the window; nothing may stick out of it.
    left = (1240 - report_html.WIDTH) / 2
    assert used.min() >= left - 2 and used.max() <= left + report_html.WIDTH + 2, (used.min(), used.max())
    assert colour_count(pixels, report_html.OFFERED) > 500


def test_chromium_prints_it_on_a4_pages(rendered):
    tmp, page = rendered
    pdf = tmp / "report.pdf"
    headless(page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", tmp=tmp)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data)
    assert boxes
    for box in boxes:
        x0, y0, x1, y1 = map(float, box)
        # A4 is 210 x 297 mm = 595.3 x 841.9 pt.
        assert x1 - x0 == pytest.approx(595.3, abs=2) and y1 - y0 == pytest.approx(841.9, abs=2), box
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    # Header and overview, two queues, agents, when, lines, callers: a page each at least.
    assert pages >= 7, pages


def test_the_readme_picture_is_a_small_png_of_the_first_page(tmp_path):
    chromium()
    out = tmp_path / "report.png"
    tool = Path(__file__).resolve().parent.parent / "tools" / "report-screenshot"
    r = subprocess.run([sys.executable, str(tool), str(out)], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size < 300_000
    pixels = png_pixels(out.read_bytes())
    assert pixels.shape[:2] == (1344, 950)              # 760 x 1075 at 1.25
    assert colour_count(pixels, report_html.OFFERED) > 1000


@pytest.mark.parametrize("by, keys, table, ticks", [
    ("day", [f"2026-03-{d:02d}" for d in range(2, 9)], ["Mon 2026-03-02", "Sun 2026-03-08"], ["2 Mar", "8 Mar"]),
    ("week", ["2026-03-02", "2026-03-09"], ["week of 2026-03-02", "week of 2026-03-09"], ["2 Mar", "9 Mar"]),
])
def test_days_and_weeks_are_labelled_by_their_first_day(by, keys, table, ticks):
    r = sample()
    rows = tuple(qrow("sales", k, 10, 8, 2, 0, 6) for k in keys) + (qrow("sales", None, 10 * len(keys),
                                                                       8 * len(keys), 2 * len(keys), 0, 6 * len(keys)),)
    doc = render_html(Report(**{**r.__dict__, "by": by, "end": at(0, day=16), "queues": rows}))
    first = [row[0] for row in cells(doc, "queue")[1:-1]]
    assert [first[0], first[-1]] == table
    shown = [t.text.replace("\xa0", " ") for t in svgs(doc)[0].iter("text")
             if t.get("class") == "tick" and "Mar" in (t.text or "")]
    assert [shown[0], shown[-1]] == ticks
    assert f"Calls by {by}" in text_of(doc)


def test_a_simulated_day_through_the_command_in_chromium(tmp_path):
    """The whole path a manager takes: a day of the box's own call log, `appliance
    report --format html`, and the page in a browser with its charts drawn."""
    chromium()
    from tests.test_simulate import HERE, traffic_file
    from appliance import config, simulate, traffic
    day = traffic_file(tmp_path, [(40, 2), (70, 2), (50, 1)], handle_s=150)
    db = tmp_path / "log.sqlite"
    sim = simulate.Simulation(config.load(str(HERE / "office-small.toml")), traffic.load(str(day)), log_path=db)
    try:
        sim.run()
    finally:
        sim.close()
    page = tmp_path / "day.html"
    r = subprocess.run([sys.executable, "-m", "appliance.cli", "report", "--db", str(db), "--config",
                        str(HERE / "office-small.toml"), "--by", "hour", "--format", "html", "--out", str(page)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = page.read_text(encoding="utf-8")
    assert "Small Office" in text and "support" in text and "<script" not in text
    shot = tmp_path / "shot.png"
    headless(page, f"--screenshot={shot}", "--window-size=1240,1754", tmp=tmp_path)
    pixels = png_pixels(shot.read_bytes())
    for colour in (report_html.OFFERED, report_html.ANSWERED, report_html.ABANDONED):
        assert colour_count(pixels, colour) > 500, colour
