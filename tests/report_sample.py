"""A day of a small office as a report: two queues over eight hours, three agents, four
lines, callers not served and callers who called again; and a range with no calls. What
the HTML report's tests and the README's picture of it are drawn from."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from appliance.report import AgentRow, LineRow, QueueRow, RepeatCaller, Report, Unserved

KYIV = ZoneInfo("Europe/Kyiv")


def at(h: int, m: int = 0, s: int = 0, day: int = 2) -> float:
    return datetime(2026, 3, day, h, m, s, tzinfo=KYIV).timestamp()


def qrow(queue, interval, offered, answered, abandoned, short, in_sl, asa=None, aht=None, longest=None,
         sent_on=0, callbacks=0) -> QueueRow:
    return QueueRow(queue=queue, interval=interval, offered=offered, answered=answered, abandoned=abandoned,
                    short_abandoned=short, sent_on=sent_on, callbacks=callbacks, answered_in_sl=in_sl,
                    sl_over_answered=in_sl / answered if answered else None,
                    sl_over_handled=in_sl / (answered + abandoned) if answered + abandoned else None,
                    asa_s=asa, aht_s=aht, longest_wait_s=longest)


def queue_rows(queue: str, hours) -> list:
    """A queue's hourly rows and its total from (offered, answered, abandoned, short, in_sl)."""
    rows, t = [], [0, 0, 0, 0, 0]
    for h, (o, a, ab, sh, sl) in hours:
        rows.append(qrow(queue, f"2026-03-02T{h:02d}:00:00", o, a, ab, sh, sl,
                         asa=12.0 + h if a else None, aht=230.0 + 5 * h if a else None,
                         longest=40.0 + 3 * h if o else None))
        t = [x + y for x, y in zip(t, (o, a, ab, sh, sl))]
    rows.append(qrow(queue, None, *t, asa=17.4, aht=251.2, longest=95.0, sent_on=2, callbacks=1))
    return rows


def sample(office="Demo Trading Ltd", queue_names=("sales", "support"), agent_names=("olena", "ivan", "maria"),
           caller="0501234567", line_names=("line1", "line2", "line3", "line4")) -> Report:
    """A day of a small office, as report.build would give it."""
    sales = [(9, (14, 12, 2, 0, 10)), (10, (22, 18, 3, 1, 13)), (11, (19, 17, 1, 1, 15)),
             (12, (9, 9, 0, 0, 9)), (13, (11, 10, 1, 0, 8)), (14, (17, 14, 2, 1, 11)),
             (15, (15, 14, 1, 0, 13)), (16, (8, 8, 0, 0, 8))]
    support = [(9, (6, 5, 1, 0, 4)), (10, (9, 7, 2, 0, 5)), (11, (0, 0, 0, 0, 0)),
               (12, (4, 4, 0, 0, 4)), (13, (7, 6, 0, 1, 5))]
    queues = tuple(queue_rows(queue_names[0], sales) + queue_rows(queue_names[1], support))
    agents = tuple(AgentRow(agent=name, calls=30 - 7 * i, talk_s=7200.0 - 1500 * i, wrapup_s=1200.0 - 200 * i,
                            paused_s={"lunch": 1800.0, "break": 600.0 * i} if i < 2 else {},
                            logged_in_s=8 * 3600.0 - 3600 * i, missed=i, occupancy=0.4 - 0.08 * i)
                   for i, name in enumerate(agent_names))
    lines = tuple(LineRow(line=name, calls=60 - 12 * i, busy_s=15000.0 - 3500 * i, use=(15000.0 - 3500 * i) / 86400)
                  for i, name in enumerate(line_names))
    unserved = (Unserved(call=17, at=at(10, 12, 5), caller=caller, queue=queue_names[0], reason="abandoned",
                         waited_s=64.0, called_again=at(10, 31, 40), served_later=True),
                Unserved(call=41, at=at(14, 3, 59), caller="", queue=queue_names[1], reason="abandoned",
                         waited_s=120.0, called_again=None, served_later=False),
                Unserved(call=77, at=at(19, 40), caller="0443334455", queue=None, reason="after-hours",
                         waited_s=0.0, called_again=None, served_later=False))
    by_hour = tuple([0] * 9 + [21, 31, 19, 13, 18, 17, 15, 8] + [0, 0, 1] + [0] * 4)
    return Report(office=office, timezone="Europe/Kyiv", start=at(0), end=at(0, day=3), by="hour", sl_s=20.0,
                  short_abandon_s=5.0, queues=queues, agents=agents, by_hour=by_hour,
                  by_weekday=(sum(by_hour), 0, 0, 0, 0, 0, 0), all_lines_busy=3, all_lines_busy_s=215.0,
                  lines=lines, unserved=unserved,
                  repeat_callers=(RepeatCaller(caller=caller, calls=3, served=1),
                                  RepeatCaller(caller="0679998877", calls=2, served=2)),
                  menu_only=12)


def empty() -> Report:
    return Report(office="Quiet Office", timezone="Europe/Kyiv", start=at(0), end=at(0, day=3), by="hour",
                  sl_s=20.0, short_abandon_s=5.0, queues=(), agents=(), by_hour=(0,) * 24, by_weekday=(0,) * 7,
                  all_lines_busy=0, all_lines_busy_s=0.0, lines=(), unserved=(), repeat_callers=(), menu_only=0)
