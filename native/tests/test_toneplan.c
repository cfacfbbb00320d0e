/*
 * Tone plans: every plan is found by its name, wrong names are rejected, and every
 * tone and ring cadence is something a network could send and a detector can tell
 * apart from the plan's other tones.
 */
#include <string.h>

#include "ctest.h"
#include "toneplan.h"

static const char *const expected_plans[] = {"itu", "ru", "ua", "us"};
#define NEXPECTED ((int) (sizeof(expected_plans) / sizeof(expected_plans[0])))

/* The detection window of supervise.h: +/-15 % and 40 ms around the nominal value. */
static int window_lo(int ms)
{
    return ms - ms * 15 / 100 - 40;
}

static int window_hi(int ms)
{
    return ms + ms * 15 / 100 + 40;
}

static void test_find_by_name(void)
{
    CHECK(tone_plan_count() == NEXPECTED, "%d plans, expected %d", tone_plan_count(), NEXPECTED);
    for (int i = 0; i < NEXPECTED; i++)
    {
        const tone_plan_t *p = tone_plan_find(expected_plans[i]);

        CHECK(p != NULL, "plan '%s' not found", expected_plans[i]);
        if (p == NULL)
            continue;
        CHECK(strcmp(p->name, expected_plans[i]) == 0, "'%s' found plan '%s'", expected_plans[i], p->name);
        CHECK(p->country != NULL && p->country[0] != '\0', "plan '%s' names no country", p->name);
    }
    /* Every plan reachable by index is reachable by its name, and is the same data. */
    for (int i = 0; i < tone_plan_count(); i++)
    {
        const tone_plan_t *p = tone_plan_at(i);

        CHECK(p != NULL, "tone_plan_at(%d) is NULL", i);
        if (p == NULL)
            continue;
        CHECK(tone_plan_find(p->name) == p, "plan %d ('%s') is not found by its name", i, p->name);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(tone_plan_at(j)->name, p->name) != 0, "plan name '%s' is used twice", p->name);
    }
    CHECK(tone_plan_default() == tone_plan_find("itu"), "the default plan is not 'itu'");
}

static void test_unknown_rejected(void)
{
    static const char *const bad[] = {"", "IT", "ITU", "itu ", " itu", "it", "itux", "uk", "de", "u", "usa"};

    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(tone_plan_find(bad[i]) == NULL, "'%s' was accepted as a plan name", bad[i]);
    CHECK(tone_plan_find(NULL) == NULL, "a NULL name was accepted");
    CHECK(tone_plan_at(-1) == NULL, "tone_plan_at(-1) is not NULL");
    CHECK(tone_plan_at(tone_plan_count()) == NULL, "tone_plan_at(count) is not NULL");
    CHECK(tone_plan_at(1000000) == NULL, "tone_plan_at(1000000) is not NULL");
}

static void test_tone_names(void)
{
    static const char *const names[TONE_COUNT] = {"none", "dial", "busy", "ringback", "congestion", "sit"};

    for (int t = 0; t < TONE_COUNT; t++)
        CHECK(strcmp(tone_name(t), names[t]) == 0, "tone %d is named '%s'", t, tone_name(t));
    CHECK(strcmp(tone_name(-1), "unknown") == 0, "tone -1 is named '%s'", tone_name(-1));
    CHECK(strcmp(tone_name(TONE_COUNT), "unknown") == 0, "tone %d is named '%s'", TONE_COUNT,
          tone_name(TONE_COUNT));
}

static void check_tone(const tone_plan_t *p, int id)
{
    const tone_def_t *t = &p->tone[id];
    int sounding = 0;

    CHECK(t->nsteps >= 1 && t->nsteps <= TONE_MAX_STEPS, "%s %s: %d steps", p->name, tone_name(id), t->nsteps);
    for (int k = 0; k < t->nsteps && k < TONE_MAX_STEPS; k++)
    {
        const tone_step_t *s = &t->step[k];

        if (s->f1 == 0)
        {
            CHECK(s->f2 == 0, "%s %s step %d: second frequency on silence", p->name, tone_name(id), k);
        }
        else
        {
            sounding++;
            /* Inside the telephone band, where G.711 and every line carry them. */
            CHECK(s->f1 >= 300 && s->f1 <= 3400, "%s %s step %d: %d Hz", p->name, tone_name(id), k, s->f1);
            CHECK(s->f2 == 0 || (s->f2 >= 300 && s->f2 <= 3400 && s->f2 != s->f1),
                  "%s %s step %d: second frequency %d Hz", p->name, tone_name(id), k, s->f2);
            /* Audible, and well below clipping even when two frequencies add up. */
            CHECK(s->level >= -30 && s->level <= -5, "%s %s step %d: %d dBm0", p->name, tone_name(id), k,
                  s->level);
        }
        /* Only a last step may last until stopped, or the steps after it never play. */
        CHECK(s->ms > 0 || k == t->nsteps - 1, "%s %s step %d: endless step before the last",
              p->name, tone_name(id), k);
        CHECK(s->ms <= 10000, "%s %s step %d: %d ms", p->name, tone_name(id), k, s->ms);
        /* The detector works in 16 ms blocks: shorter steps cannot be seen. */
        CHECK(s->ms == 0 || s->ms >= 100, "%s %s step %d: %d ms is too short to detect",
              p->name, tone_name(id), k, s->ms);
    }
    CHECK(sounding > 0, "%s %s: no step makes a sound", p->name, tone_name(id));
    for (int k = t->nsteps; k < TONE_MAX_STEPS; k++)
        CHECK(t->step[k].f1 == 0 && t->step[k].ms == 0, "%s %s: data after the last step", p->name, tone_name(id));
}

/* A cadenced tone: on, then off, repeated. */
static void check_cadence(const tone_plan_t *p, int id, int min_on, int max_on, int min_off, int max_off)
{
    const tone_def_t *t = &p->tone[id];

    CHECK(t->nsteps == 2, "%s %s: %d steps, expected on and off", p->name, tone_name(id), t->nsteps);
    CHECK(t->repeat, "%s %s: does not repeat", p->name, tone_name(id));
    CHECK(t->step[0].f1 != 0 && t->step[1].f1 == 0, "%s %s: not on then off", p->name, tone_name(id));
    CHECK(t->step[0].ms >= min_on && t->step[0].ms <= max_on, "%s %s: on %d ms outside %d to %d",
          p->name, tone_name(id), t->step[0].ms, min_on, max_on);
    CHECK(t->step[1].ms >= min_off && t->step[1].ms <= max_off, "%s %s: off %d ms outside %d to %d",
          p->name, tone_name(id), t->step[1].ms, min_off, max_off);
}

static void test_cadences_sane(void)
{
    for (int i = 0; i < tone_plan_count(); i++)
    {
        const tone_plan_t *p = tone_plan_at(i);
        const tone_def_t *dial = &p->tone[TONE_DIAL];
        const tone_def_t *busy = &p->tone[TONE_BUSY];
        const tone_def_t *cong = &p->tone[TONE_CONGESTION];

        CHECK(p->tone[TONE_NONE].nsteps == 0, "%s: the 'none' tone has steps", p->name);
        for (int id = TONE_DIAL; id < TONE_COUNT; id++)
            check_tone(p, id);

        /* Dial tone is continuous. */
        CHECK(dial->nsteps == 1 && dial->step[0].ms == 0 && dial->step[0].f1 != 0,
              "%s: dial tone is not one continuous step", p->name);

        /* ITU-T E.180: busy 0.1 to 0.6 s on and off, about equal; ringing tone 0.67 to
           2.5 s on, 3 to 5 s off; congestion faster than busy. */
        check_cadence(p, TONE_BUSY, 100, 600, 100, 600);
        check_cadence(p, TONE_CONGESTION, 100, 600, 100, 600);
        check_cadence(p, TONE_RINGBACK, 670, 2500, 3000, 5000);
        CHECK(busy->step[0].ms == busy->step[1].ms, "%s: busy on %d ms, off %d ms", p->name,
              busy->step[0].ms, busy->step[1].ms);
        CHECK(cong->step[0].ms < busy->step[0].ms, "%s: congestion (%d ms) is not faster than busy (%d ms)",
              p->name, cong->step[0].ms, busy->step[0].ms);
        /* Busy and congestion share their frequencies: only the cadence tells them apart,
           so their detection windows must not overlap. */
        CHECK(window_hi(cong->step[0].ms) < window_lo(busy->step[0].ms),
              "%s: congestion window up to %d ms reaches busy window from %d ms", p->name,
              window_hi(cong->step[0].ms), window_lo(busy->step[0].ms));
        CHECK(window_hi(cong->step[1].ms) < window_lo(busy->step[1].ms),
              "%s: congestion off window up to %d ms reaches busy off window from %d ms", p->name,
              window_hi(cong->step[1].ms), window_lo(busy->step[1].ms));
        /* A burst of busy or congestion cannot pass for ringback, and ringback's silence
           is longer than any of theirs. */
        CHECK(window_hi(busy->step[0].ms) < window_lo(p->tone[TONE_RINGBACK].step[0].ms),
              "%s: busy and ringback bursts overlap", p->name);

        /* The special information tone: three rising frequencies, then a pause. */
        {
            const tone_def_t *sit = &p->tone[TONE_SIT];
            CHECK(sit->nsteps == 4 && sit->repeat, "%s: SIT has %d steps", p->name, sit->nsteps);
            CHECK(sit->step[0].f1 < sit->step[1].f1 && sit->step[1].f1 < sit->step[2].f1,
                  "%s: SIT frequencies do not rise", p->name);
            CHECK(sit->step[3].f1 == 0 && sit->step[3].ms >= 1000, "%s: SIT pause is wrong", p->name);
        }

        /* Ringing: on, off, and an optional second on/off pair. */
        CHECK(p->ring_cadence[0] >= 400 && p->ring_cadence[0] <= 2500, "%s: ring on %d ms", p->name,
              p->ring_cadence[0]);
        CHECK(p->ring_cadence[1] >= 1000 && p->ring_cadence[1] <= 6000, "%s: ring off %d ms", p->name,
              p->ring_cadence[1]);
        CHECK((p->ring_cadence[2] == 0) == (p->ring_cadence[3] == 0), "%s: half a second ring pair", p->name);
        CHECK(p->ring_cadence[0] + p->ring_cadence[1] + p->ring_cadence[2] + p->ring_cadence[3] <= 8000,
              "%s: a ring cycle longer than 8 s would trip the 8 s ring timeout", p->name);
    }
}

static void test_national_values(void)
{
    const tone_plan_t *ru = tone_plan_find("ru");
    const tone_plan_t *ua = tone_plan_find("ua");
    const tone_plan_t *us = tone_plan_find("us");
    const tone_plan_t *itu = tone_plan_find("itu");

    REQUIRE(ru && ua && us && itu, "a plan is missing");
    CHECK(ru->tone[TONE_BUSY].step[0].ms == 350 && ru->tone[TONE_CONGESTION].step[0].ms == 175,
          "ru: busy %d ms, congestion %d ms", ru->tone[TONE_BUSY].step[0].ms, ru->tone[TONE_CONGESTION].step[0].ms);
    CHECK(ua->tone[TONE_BUSY].step[0].ms == 400 && ua->tone[TONE_CONGESTION].step[0].ms == 200,
          "ua: busy %d ms, congestion %d ms", ua->tone[TONE_BUSY].step[0].ms, ua->tone[TONE_CONGESTION].step[0].ms);
    CHECK(itu->tone[TONE_BUSY].step[0].f1 == 425 && ru->tone[TONE_BUSY].step[0].f1 == 425
          && ua->tone[TONE_BUSY].step[0].f1 == 425, "ITU and ex-USSR busy tone is not 425 Hz");
    CHECK(us->tone[TONE_DIAL].step[0].f1 == 350 && us->tone[TONE_DIAL].step[0].f2 == 440,
          "us: dial tone is not 350+440 Hz");
    CHECK(us->tone[TONE_BUSY].step[0].f1 == 480 && us->tone[TONE_BUSY].step[0].f2 == 620,
          "us: busy tone is not 480+620 Hz");
    CHECK(us->tone[TONE_RINGBACK].step[0].f1 == 440 && us->tone[TONE_RINGBACK].step[0].f2 == 480
          && us->tone[TONE_RINGBACK].step[0].ms == 2000, "us: ringback is not 440+480 Hz, 2 s");
    CHECK(us->ring_cadence[0] == 2000 && us->ring_cadence[1] == 4000, "us: ringing is not 2 s / 4 s");
    CHECK(ru->ring_cadence[0] == 1000 && ru->ring_cadence[1] == 4000, "ru: ringing is not 1 s / 4 s");
}

int main(void)
{
    CTEST_RUN(test_find_by_name);
    CTEST_RUN(test_unknown_rejected);
    CTEST_RUN(test_tone_names);
    CTEST_RUN(test_cadences_sane);
    CTEST_RUN(test_national_values);
    return ctest_finish();
}
