"""Queue announcements: each rule fed as a sequence of (time, position, estimate, staffed,
ringing), a seeded random sweep for the rules that must hold over any sequence, and the
words each language makes of them.

Expected figures are written out by hand (seconds, band ceilings), not computed with the
module's own table.
"""
import random

import pytest

from appliance.announce import Announcement, AnnouncePolicy, Announcer, CallerAnnouncements, wait_band
from appliance.numbers import Recorded, Spoken, recorded_names
from appliance.prompts import PACKS, SOUNDS

DEFAULT = AnnouncePolicy()


def run(steps, policy=DEFAULT, joined_at=0.0):
    """Feed steps (at, position, estimate, staffed[, ringing]); return [(at, Announcement)]."""
    caller = Announcer(policy).join(joined_at)
    said = []
    for step in steps:
        at, position, estimate, staffed = step[:4]
        ringing = step[4] if len(step) > 4 else False
        a = caller.due(at, position, estimate, staffed, ringing)
        if a is not None:
            said.append((at, a))
    return said


def every_second(until, position=3, estimate=150.0, staffed=2, start=0):
    return [(t, position, estimate, staffed) for t in range(start, until + 1)]


def heard(items):
    return " ".join(i.text for i in items)


# -- when ---------------------------------------------------------------------------------
def test_first_announcement_after_first_after_s_then_every_every_s():
    said = run(every_second(200))
    assert [t for t, _ in said] == [5, 50, 95, 140, 185]
    assert all(a.kind == "position+wait" and a.position == 3 and a.wait == 180 for _, a in said)


def test_first_announcement_at_once_when_configured():
    said = run([(t, 3, 150.0, 2) for t in range(100, 160)], AnnouncePolicy(first_after_s=0), joined_at=100)
    assert [t for t, _ in said] == [100, 145]


def test_times_are_relative_to_joining():
    said = run([(t, 2, None, 1) for t in range(1000, 1100)], joined_at=990)
    assert [t for t, _ in said] == [1000, 1045, 1090]     # 990 + 5 had passed: due at once


def test_moving_up_brings_the_next_announcement_forward_but_not_within_min_interval():
    steps = [(t, 5 if t < 8 else 4 if t < 30 else 3, None, 2) for t in range(0, 120)]
    said = run(steps)
    # 5 at t=5; moved to 4 at 8: due at 5 + 15 = 20; moved to 3 at 30: due at 20 + 15 = 35
    assert [(t, a.position) for t, a in said] == [(5, 5), (20, 4), (35, 3), (80, 3)]


def test_moving_back_waits_for_the_regular_time():
    steps = [(t, 4 if t < 10 else 6, None, 2) for t in range(0, 100)]
    assert [(t, a.position) for t, a in run(steps)] == [(5, 4), (50, 6), (95, 6)]


def test_moves_can_be_ignored():
    steps = [(t, 5 if t < 8 else 4, None, 2) for t in range(0, 60)]
    said = run(steps, AnnouncePolicy(announce_moves=False))
    assert [(t, a.position) for t, a in said] == [(5, 5), (50, 4)]


def test_next_due_says_when_to_ask_again():
    caller = Announcer().join(0)
    assert caller.next_due(3) == 5
    assert caller.due(5, 3, None, 1) is not None
    assert caller.next_due(3) == 50
    assert caller.next_due(2) == 20         # moved up: min_interval after the last one
    assert caller.due(19.9, 2, None, 1) is None
    assert caller.due(20, 2, None, 1).position == 2


def test_nothing_while_an_agent_is_rung_for_the_caller_and_it_stays_due():
    steps = [(t, 1, 200.0, 1, 3 <= t < 12) for t in range(0, 40)]
    said = run(steps)
    assert [t for t, _ in said] == [12]      # due at 5, rung from 3 to 11: said when the agent did not answer
    assert said[0][1].kind == "position+wait"


def test_ringing_also_holds_the_periodic_message():
    policy = AnnouncePolicy(periodic_prompt="queue-periodic-announce", periodic_every_s=30, first_after_s=0)
    steps = [(t, 2, None, 1, 25 <= t < 40) for t in range(0, 60)]
    said = run(steps, policy)
    # the periodic message, due at 30, goes when the ringing stops; the position, due at
    # 45, waits out the quiet interval after it
    assert [(t, a.kind, a.periodic) for t, a in said] == [(0, "position", None),
                                                          (40, "periodic", "queue-periodic-announce"),
                                                          (55, "position", None)]


def test_a_due_announcement_with_nothing_to_say_waits_for_something():
    policy = AnnouncePolicy(announce_position="no")
    steps = [(t, 3, None if t < 30 else 100.0, 0 if t < 30 else 1) for t in range(0, 60)]
    said = run(steps, policy)
    assert [(t, a.kind, a.wait) for t, a in said] == [(30, "wait", 120)]


# -- the figure ---------------------------------------------------------------------------
@pytest.mark.parametrize("estimate, figure", [
    (0, 60), (1, 60), (59.9, 60), (60, 60),             # less than a minute
    (60.1, 120), (120, 120), (120.5, 180), (181, 240), (299, 300), (300, 300),
    (300.1, 600), (600, 600), (601, 900), (900, 900), (1000, 1200), (1201, 1800),
    (1801, 2700), (2700, 2700), (2701, 3600), (3600, 3600),
    (3601, 5400), (5400, 5400), (5401, 7200),
])
def test_wait_bands_round_up(estimate, figure):
    assert wait_band(estimate) == figure


def test_the_figure_is_said_rounded_up():
    said = run([(5, 4, 130.0, 2)])
    assert said[0][1] == Announcement("position+wait", 4, 180)
    assert heard(said[0][1].items("en")) == ("You are currently caller number four "
                                             "The estimated hold time is currently three minutes")


def test_under_a_minute_is_less_than_a_minute():
    a = run([(5, 3, 40.0, 2)])[0][1]
    assert a.wait == 60
    assert heard(a.items("en")).endswith("The estimated hold time is currently less than one minute")
    assert heard(a.items("ru")).endswith("составляет менее минуты")


def test_head_of_the_line_with_an_agent_soon_hears_you_are_next():
    a = run([(5, 1, 40.0, 2)])[0][1]
    assert a == Announcement("next", 1, None)
    assert [i.name for i in a.items("en")] == ["queue-youarenext"]


def test_head_of_the_line_with_a_long_wait_hears_first_in_line_and_the_figure():
    a = run([(5, 1, 200.0, 1)])[0][1]
    assert a == Announcement("position+wait", 1, 240)
    assert [i.name for i in a.items("en")] == ["queue-youarenext", "queue-holdtime", "digits/4",
                                              "queue-minutes"]


def test_head_of_the_line_without_positions_hears_the_figure():
    a = run([(5, 1, 40.0, 2)], AnnouncePolicy(announce_position="no"))[0][1]
    assert a == Announcement("wait", None, 60)


def test_the_figure_never_rises_while_staffing_holds():
    # each step within the jump factor of the one before, so every estimate is believed
    steps = [(5, 3, 150.0, 3), (50, 3, 280.0, 3), (95, 3, 170.0, 3), (140, 3, 100.0, 3), (185, 3, 170.0, 3)]
    assert [a.wait for _, a in run(steps)] == [180, 180, 180, 120, 120]


def test_the_figure_may_rise_once_when_staffing_falls():
    steps = [(5, 3, 150.0, 3),
             (50, 3, 700.0, 2),      # an agent logged off: 900 s may be said
             (95, 3, 1000.0, 2),     # same staffing as that figure: held at 900
             (140, 3, 1300.0, 3),    # an agent came back: still held
             (185, 3, 1700.0, 1)]    # fewer than at the figure said (3 at 140): may rise
    assert [a.wait for _, a in run(steps)] == [180, 900, 900, 900, 1800]


def test_a_staffing_fall_between_figures_still_counts():
    # the fall comes while there is no estimate; the first figure after it may rise
    steps = [(5, 3, 150.0, 3), (50, 3, None, 2), (95, 3, 500.0, 2), (140, 3, 700.0, 2)]
    said = run(steps)
    assert [(a.kind, a.wait) for _, a in said] == [("position+wait", 180), ("position", None),
                                                  ("position+wait", 600), ("position+wait", 600)]


def test_no_estimate_says_the_position_only():
    said = run([(5, 4, None, 0), (50, 4, None, 2)])
    assert [a for _, a in said] == [Announcement("position", 4, None)] * 2
    assert heard(said[0][1].items("en")) == "You are currently caller number four"


def test_a_jump_without_a_staffing_change_says_the_position_only_then_the_figure_if_it_lasts():
    steps = [(5, 3, 600.0, 2),
             (50, 3, 200.0, 2),      # a third of what it was: not believed yet
             (95, 3, 210.0, 2),      # it lasted: said
             (140, 3, 1000.0, 2)]    # jumps up: not said (and would be held anyway)
    said = run(steps)
    assert [(a.kind, a.wait) for _, a in said] == [("position+wait", 600), ("position", None),
                                                  ("position+wait", 240), ("position", None)]


def test_a_jump_with_a_staffing_change_is_believed():
    steps = [(5, 3, 600.0, 2), (50, 3, 200.0, 4)]
    assert [a.wait for _, a in run(steps)] == [600, 240]


def test_moving_up_is_not_a_jump():
    # per place in line the estimate stays near 120 s, though it falls from 480 to 130
    steps = [(5, 4, 480.0, 2), (50, 1, 130.0, 2)]
    said = run(steps)
    assert [(a.kind, a.position, a.wait) for _, a in said] == [("position+wait", 4, 600),
                                                              ("position+wait", 1, 180)]


def test_wait_announcements_can_be_turned_off():
    said = run([(5, 4, 130.0, 2)], AnnouncePolicy(announce_wait=False))
    assert said[0][1] == Announcement("position", 4, None)


# -- app_queue's announce-position --------------------------------------------------------
def test_position_limit_leaves_out_places_above_it():
    policy = AnnouncePolicy(announce_position="limit", position_limit=3)
    steps = [(5, 5, 400.0, 2),
             (50, 5, None, 2),       # due, but neither place nor figure can be said
             (95, 3, 240.0, 2)]
    said = run(steps, policy)
    assert [(t, a.kind, a.position, a.wait) for t, a in said] == [(5, "wait", None, 600),
                                                                  (95, "position+wait", 3, 240)]


def test_announce_position_no():
    said = run(every_second(60, position=7), AnnouncePolicy(announce_position="no"))
    assert {(a.kind, a.position, a.wait) for _, a in said} == {("wait", None, 180)}


# -- periodic message ---------------------------------------------------------------------
def test_periodic_message_rides_along_or_goes_alone_never_within_min_interval():
    policy = AnnouncePolicy(periodic_prompt="callback-offer", periodic_every_s=50)
    said = run(every_second(170), policy)
    assert [(t, a.kind, a.periodic) for t, a in said] == [
        (5, "position+wait", None),
        (50, "position+wait", "callback-offer"),    # both due at 50: one announcement
        (95, "position+wait", None),
        (110, "periodic", "callback-offer"),        # due at 100, 15 s after the last one
        (140, "position+wait", None),
        (160, "periodic", "callback-offer")]
    alone = said[3][1]
    assert alone.position is None and alone.wait is None and alone.items("en") == []


def test_no_periodic_message_unless_configured():
    assert all(a.periodic is None for _, a in run(every_second(400)))


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: AnnouncePolicy(every_s=10), "every_s 10 is below min_interval_s 15"),
    (lambda: AnnouncePolicy(min_interval_s=-1), "min_interval_s -1 is not a number of seconds from 0"),
    (lambda: AnnouncePolicy(first_after_s=float("nan")), "first_after_s nan"),
    (lambda: AnnouncePolicy(announce_position="more"),
     "unknown announce_position 'more'; choose one of: yes, no, limit"),
    (lambda: AnnouncePolicy(announce_position="limit"), "position_limit 0 must be a whole number from 1"),
    (lambda: AnnouncePolicy(jump_factor=1), "jump_factor 1 must be above 1"),
])
def test_a_policy_that_contradicts_itself_is_refused(make, message):
    with pytest.raises(ValueError) as e:
        make()
    assert message in str(e.value)


@pytest.mark.parametrize("args, message", [
    ((10, 0, None, 1), "position 0 is below 1"),
    ((10, 2.0, None, 1), "position 2.0 is not a whole number"),
    ((10, True, None, 1), "position True is not a whole number"),
    ((10, 2, -5.0, 1), "estimate -5.0 is negative"),
    ((10, 2, float("inf"), 1), "estimate inf is not a number of seconds"),
    ((10, 2, "60", 1), "estimate '60' is not a number of seconds"),
    ((10, 2, None, -1), "staffed -1 is below 0"),
    ((3, 2, None, 1), "time 3.0 is before 5.0; time does not go back"),
])
def test_inputs_are_checked(args, message):
    caller = CallerAnnouncements(DEFAULT, 5)
    with pytest.raises(ValueError) as e:
        caller.due(*args)
    assert message in str(e.value)


# -- any sequence -------------------------------------------------------------------------
POLICIES = [
    DEFAULT,
    AnnouncePolicy(first_after_s=0, every_s=30, min_interval_s=20),
    AnnouncePolicy(periodic_prompt="callback-offer", periodic_every_s=40),
    AnnouncePolicy(announce_position="limit", position_limit=2, every_s=20, min_interval_s=20),
    AnnouncePolicy(announce_position="no", periodic_prompt="callback-offer", periodic_every_s=25,
                   jump_factor=1.5),
    AnnouncePolicy(announce_moves=False, min_interval_s=0, every_s=10, first_after_s=1),
]


def random_sequence(rng):
    """A caller's time in a queue: steps of 0 to 30 s, moving up now and then (back
    rarely), agents logging in and out, estimates missing, drifting and jumping."""
    t = rng.uniform(0, 1000)
    joined = t
    position = rng.randint(1, 12)
    staffed = rng.randint(0, 5)
    per_place = rng.uniform(10, 400)
    steps = []
    for _ in range(rng.randint(5, 120)):
        t += rng.choice([0, rng.uniform(0, 30), rng.uniform(0, 3)])
        r = rng.random()
        if r < 0.15 and position > 1:
            position -= 1
        elif r < 0.18:
            position += 1
        if rng.random() < 0.08:
            staffed = max(0, staffed + rng.choice([-1, 1]))
        per_place *= rng.choice([1, 1, 1, rng.uniform(0.8, 1.25), rng.uniform(0.2, 5)])
        estimate = None if staffed == 0 or rng.random() < 0.1 else per_place * position
        steps.append((t, position, estimate, staffed, rng.random() < 0.05))
    return joined, steps


def test_any_sequence_keeps_the_rules():
    rng = random.Random(20240611)
    announcements = figures = rises = 0
    for _ in range(4000):
        policy = rng.choice(POLICIES)
        joined, steps = random_sequence(rng)
        caller = CallerAnnouncements(policy, joined)
        last_at = None
        last_figure = None          # (figure, staffed when it was said)
        for at, position, estimate, staffed, ringing in steps:
            a = caller.due(at, position, estimate, staffed, ringing)
            if a is None:
                continue
            announcements += 1
            assert not ringing, "said while an agent was rung"
            assert at >= joined + min(policy.first_after_s, policy.periodic_every_s)
            if last_at is not None:
                assert at - last_at >= policy.min_interval_s, "announcements too close"
            last_at = at
            if a.kind == "periodic":
                assert (a.position, a.wait, a.periodic) == (None, None, policy.periodic_prompt)
                continue
            assert a.position in (position, None)
            assert a.kind == {(True, False): "position", (True, True): "position+wait",
                              (False, True): "wait"}[a.position is not None, a.wait is not None] or (
                a.kind == "next" and a.position == 1 and a.wait is None)
            if a.wait is None:
                continue
            figures += 1
            assert estimate is not None, "a figure with no estimate"
            # rounded up to a band, unless held down by the figure said before
            held = last_figure is not None and a.wait == last_figure[0]
            assert a.wait >= estimate or held, "an estimate rounded down"
            assert a.wait in (60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700) or a.wait % 1800 == 0
            assert a.wait == wait_band(estimate) or (held and a.wait < wait_band(estimate))
            if last_figure is not None and a.wait > last_figure[0]:
                rises += 1
                assert staffed < last_figure[1], "the figure rose while staffing held"
            last_figure = (a.wait, staffed)
    # the sweep reaches what it claims to test
    print(f"{announcements} announcements, {figures} figures, {rises} rises")
    assert announcements > 20000 and figures > 5000 and rises > 50


def test_any_sequence_announces_when_due():
    """With the position always said and nobody rung, no caller goes longer than every_s
    (plus the quiet interval a periodic message may add, plus one step) unannounced."""
    rng = random.Random(7)
    for _ in range(2000):
        policy = rng.choice([p for p in POLICIES if p.announce_position == "yes"])
        joined, steps = random_sequence(rng)
        steps = [s[:4] + (False,) for s in steps]
        caller = CallerAnnouncements(policy, joined)
        last_update, longest_step, prev = None, 0.0, joined
        for at, position, estimate, staffed, _ in steps:
            longest_step = max(longest_step, at - prev)
            prev = at
            a = caller.due(at, position, estimate, staffed)
            if a is not None and a.kind != "periodic":
                if last_update is None:
                    assert at - joined <= policy.first_after_s + policy.min_interval_s + longest_step
                else:
                    assert at - last_update <= policy.every_s + policy.min_interval_s + longest_step
                last_update, longest_step = at, 0.0


# -- the words ----------------------------------------------------------------------------
SAMPLES = ([Announcement("next", 1, None)]
           + [Announcement("position", p, None) for p in (2, 3, 7, 21, 99)]
           + [Announcement("wait", None, w) for w in (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400)]
           + [Announcement("position+wait", p, w) for p in (1, 2, 5, 22) for w in (60, 180, 1800)]
           + [a for _, a in run(every_second(300, position=4, estimate=500.0))])


@pytest.mark.parametrize("lang", ["en", "ru", "uk"])
def test_items_in_each_language_are_names_the_pack_has(lang):
    names = set()
    for a in SAMPLES:
        items = a.items(lang)
        assert items, f"{a} says nothing in {lang}"
        assert all(isinstance(i, (Recorded, Spoken)) and i.lang == lang and i.text for i in items)
        names.update(i.name for i in items if isinstance(i, Recorded))
    assert names <= recorded_names(lang)
    if lang == "uk":
        assert names == set()
        return
    assert "queue-holdtime" in names and "queue-youarenext" in names
    folder = SOUNDS / PACKS[lang].folder
    if not folder.is_dir():
        pytest.skip(f"{PACKS[lang].package} is not installed (sh tools/install-deps installs it)")
    missing = sorted(n for n in names if not (folder / f"{n}.wav").is_file())
    assert not missing, f"{PACKS[lang].package} has no file for: {missing}"


@pytest.mark.parametrize("lang, wait, words", [
    ("en", 60, "The estimated hold time is currently less than one minute"),
    ("en", 300, "The estimated hold time is currently five minutes"),
    ("en", 2700, "The estimated hold time is currently forty five minutes"),
    ("ru", 120, "Прогнозируемое время ожидания составляет две минуты"),
    ("ru", 60, "Прогнозируемое время ожидания составляет менее минуты"),
    ("uk", 60, "Орієнтовний час очікування становить менше хвилини"),
    ("uk", 1200, "Орієнтовний час очікування становить двадцять хвилин"),
])
def test_figures_as_heard(lang, wait, words):
    assert heard(Announcement("wait", None, wait).items(lang)) == words
