/*
 * Supervisory tone detection: each plan's busy, congestion, ringback and dial tones,
 * played by the box's own player and carried over G.711, are reported as what they
 * are, after the cycles asked for and not before; tones that only look alike (a
 * continuous tone, another cadence, another frequency) are not.
 */
#include <math.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "common.h"
#include "playback.h"
#include "supervise.h"
#include "toneplan.h"

static const char *const plan_names[] = {"itu", "ru", "ua", "us"};
#define NPLANS ((int) (sizeof(plan_names) / sizeof(plan_names[0])))

#define MAX_REPORTS 64

typedef struct
{
    int tone[MAX_REPORTS];
    int on[MAX_REPORTS];
    int64_t at[MAX_REPORTS];
    int n;
    int64_t now;
} reports_t;

static void report(void *user, int tone, int on)
{
    reports_t *r = (reports_t *) user;

    if (r->n < MAX_REPORTS)
    {
        r->tone[r->n] = tone;
        r->on[r->n] = on;
        r->at[r->n] = r->now;
        r->n++;
    }
}

/* The first tone reported as begun, or TONE_NONE; *at gets when, in ms. */
static int first_on(const reports_t *r, int *at_ms)
{
    for (int i = 0; i < r->n; i++)
    {
        if (r->on[i])
        {
            if (at_ms)
                *at_ms = (int) (r->at[i] / 8);
            return r->tone[i];
        }
    }
    return TONE_NONE;
}

static int count_on(const reports_t *r, int tone)
{
    int n = 0;

    for (int i = 0; i < r->n; i++)
        n += (r->on[i] && r->tone[i] == tone);
    return n;
}

typedef struct
{
    int law;                /* -1 linear */
    float noise_dbm0;       /* <= -90 none */
    float gain_db;          /* loss (negative) or gain on the way */
} line_t;

static const line_t linear = {-1, -99.0f, 0.0f};

/* Feeds amp through the line into the detector, frame by frame. */
static void feed(supervise_t *s, reports_t *r, const int16_t *amp, int n, const line_t *line, noise_state_t *nz)
{
    int16_t frame[FRAME_SAMPLES];
    float g = powf(10.0f, line->gain_db / 20.0f);

    for (int off = 0; off < n; off += FRAME_SAMPLES)
    {
        for (int i = 0; i < FRAME_SAMPLES; i++)
        {
            float v = (amp ? amp[off + i] : 0) * g + (nz ? noise(nz) : 0);
            int16_t x = (int16_t) (v > 32767.0f ? 32767 : (v < -32768.0f ? -32768 : lrintf(v)));
            if (line->law == LAW_ALAW)
                x = alaw_to_linear(linear_to_alaw(x));
            else if (line->law == LAW_ULAW)
                x = ulaw_to_linear(linear_to_ulaw(x));
            frame[i] = x;
        }
        supervise_rx(s, frame, FRAME_SAMPLES);
        r->now += FRAME_SAMPLES;
    }
}

/* Plays one of `plan`'s tones (endless) with the player for play_ms, then silence for
   quiet_ms, into a detector for `detect_plan`. */
static void listen(const tone_plan_t *detect_plan, const tone_plan_t *play_plan, int tone, int cycles,
                   const line_t *line, int play_ms, int quiet_ms, reports_t *r)
{
    supervise_t s;
    player_t p;
    play_step_t st;
    int16_t frame[FRAME_SAMPLES];
    noise_state_t *nz = NULL;

    memset(r, 0, sizeof(*r));
    if (supervise_init(&s, detect_plan, cycles, report, r) == NULL)
    {
        CHECK(0, "supervise_init failed for %s, %d cycles", detect_plan->name, cycles);
        return;
    }
    player_init(&p);
    memset(&st, 0, sizeof(st));
    st.type = PLAY_TONE;
    st.id = tone;
    st.tone = &play_plan->tone[tone];
    st.len = -1;
    player_start(&p, &st, 1, 0, 0);
    if (line->noise_dbm0 > -90.0f)
        nz = noise_init_dbm0(NULL, 1234, line->noise_dbm0, NOISE_CLASS_AWGN, 0);
    for (int t = 0; t < play_ms; t += FRAME_MS)
    {
        player_run(&p, frame, FRAME_SAMPLES);
        feed(&s, r, frame, FRAME_SAMPLES, line, nz);
    }
    for (int t = 0; t < quiet_ms; t += FRAME_MS)
        feed(&s, r, NULL, FRAME_SAMPLES, line, nz);
    if (nz)
        noise_free(nz);
    player_release(&p);
    supervise_release(&s);
}

/* Every ms of a cadenced tone's cycle. */
static int cycle_ms(const tone_def_t *t)
{
    int ms = 0;

    for (int k = 0; k < t->nsteps; k++)
        ms += t->step[k].ms;
    return ms;
}

static void test_init_rejects(void)
{
    supervise_t s;
    reports_t r;
    const tone_plan_t *itu = tone_plan_find("itu");
    supervise_t *heap;

    CHECK(supervise_init(&s, itu, 0, report, &r) == NULL, "0 cycles accepted");
    CHECK(supervise_init(&s, itu, -1, report, &r) == NULL, "-1 cycles accepted");
    CHECK(supervise_init(&s, itu, 99, report, &r) == NULL, "99 cycles accepted");
    CHECK(supervise_init(&s, itu, SUPERVISE_MAX_CYCLES + 1, report, &r) == NULL, "%d cycles accepted",
          SUPERVISE_MAX_CYCLES + 1);
    CHECK(supervise_init(&s, NULL, 2, report, &r) == NULL, "no plan accepted");
    CHECK(supervise_init(&s, itu, 2, NULL, &r) == NULL, "no report function accepted");
    heap = supervise_init(NULL, itu, 2, report, &r);
    CHECK(heap != NULL && heap->ntones >= 4, "allocated detector: %d tones", heap ? heap->ntones : -1);
    CHECK(supervise_free(heap) == 0 && supervise_free(NULL) == 0, "supervise_free failed");
}

/* Each plan's own tones, from the box's own player, at nominal level. */
static void test_each_plan(void)
{
    static const int tones[] = {TONE_BUSY, TONE_CONGESTION, TONE_RINGBACK, TONE_DIAL};
    static const line_t lines[] =
    {
        {-1, -99.0f, 0.0f},
        {LAW_ALAW, -50.0f, -6.0f},
        {LAW_ULAW, -45.0f, -10.0f},
    };
    reports_t r;

    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);

        for (unsigned li = 0; li < sizeof(lines) / sizeof(lines[0]); li++)
        {
            for (unsigned ti = 0; ti < sizeof(tones) / sizeof(tones[0]); ti++)
            {
                int tone = tones[ti];
                const tone_def_t *t = &plan->tone[tone];
                /* Asked for 2 cycles: busy takes 2, congestion twice as many. */
                int cycles = (tone == TONE_BUSY) ? 2 : (tone == TONE_CONGESTION) ? 4 : 1;
                int cycle = (tone == TONE_DIAL) ? 1500 : cycle_ms(t);
                /* The pattern is complete once the last silence has reached its
                   minimum; one more cycle covers the detector's start-up. */
                int deadline = (cycles + 1) * cycle + 200;
                int earliest = (tone == TONE_DIAL) ? 1500 : (cycles - 1) * cycle + t->step[0].ms;
                int at = -1;
                int got;

                listen(plan, plan, tone, 2, &lines[li], deadline + 2000, 0, &r);
                got = first_on(&r, &at);
                CHECK(got == tone, "%s, line %u: %s reported as %s", plan->name, li, tone_name(tone), tone_name(got));
                CHECK(got != tone || (at >= earliest * 85 / 100 && at <= deadline),
                      "%s, line %u: %s reported after %d ms, expected %d to %d", plan->name, li, tone_name(tone), at,
                      earliest * 85 / 100, deadline);
                /* Only that tone, once, while it lasts. */
                CHECK(count_on(&r, tone) == 1 && r.n == 1, "%s, line %u: %s gave %d reports", plan->name, li,
                      tone_name(tone), r.n);
            }
        }
    }
}

/* When the tone stops, the detector says so. */
static void test_tone_ends(void)
{
    reports_t r;

    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);
        int tones[] = {TONE_BUSY, TONE_DIAL};

        for (int k = 0; k < 2; k++)
        {
            listen(plan, plan, tones[k], 2, &linear, 4000, 3000, &r);
            CHECK(r.n == 2 && r.tone[0] == tones[k] && r.on[0] && r.tone[1] == tones[k] && !r.on[1],
                  "%s: %s gave %d reports, expected on then off", plan->name, tone_name(tones[k]), r.n);
            CHECK(r.n == 2 && r.at[1] >= MS_TO_SAMPLES(4000) && r.at[1] <= MS_TO_SAMPLES(4000 + 1200),
                  "%s: %s end reported at %d ms, the tone stopped at 4000 ms", plan->name, tone_name(tones[k]),
                  r.n == 2 ? (int) r.at[1] / 8 : -1);
        }
    }
}

/* More cycles asked for, more cycles heard before busy is reported. */
static void test_cycles(void)
{
    const tone_plan_t *ru = tone_plan_find("ru");
    int last = 0;
    reports_t r;

    for (int cycles = 1; cycles <= SUPERVISE_MAX_CYCLES; cycles++)
    {
        int at = -1;
        int got;

        listen(ru, ru, TONE_BUSY, cycles, &linear, (cycles + 2) * 700, 0, &r);
        got = first_on(&r, &at);
        CHECK(got == TONE_BUSY, "ru busy with %d cycles: reported %s", cycles, tone_name(got));
        if (got != TONE_BUSY)
            continue;
        CHECK(at > last, "ru busy with %d cycles: reported after %d ms, not later than with one cycle fewer (%d ms)",
              cycles, at, last);
        CHECK(at >= (cycles - 1) * 700 + 350 * 85 / 100, "ru busy with %d cycles: reported after only %d ms", cycles,
              at);
        last = at;
    }
}

/* Tones that only look like busy or congestion. */
static void test_not_busy(void)
{
    reports_t r;

    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);
        tone_plan_t fake = *plan;
        int got;

        /* The busy frequencies, continuous: never busy or congestion. */
        fake.tone[TONE_BUSY].nsteps = 1;
        fake.tone[TONE_BUSY].step[0].ms = 0;
        listen(plan, &fake, TONE_BUSY, 2, &linear, 10000, 0, &r);
        CHECK(count_on(&r, TONE_BUSY) == 0 && count_on(&r, TONE_CONGESTION) == 0,
              "%s: a continuous busy-frequency tone was reported as %s", plan->name, tone_name(first_on(&r, NULL)));

        /* Dial tone is continuous: it is dial tone and nothing else, for as long as it lasts. */
        listen(plan, plan, TONE_DIAL, 2, &linear, 20000, 0, &r);
        CHECK(r.n == 1 && r.tone[0] == TONE_DIAL, "%s: 20 s of dial tone gave %d reports, first %s", plan->name,
              r.n, tone_name(first_on(&r, NULL)));

        /* The right frequency with a cadence of 1 s on, 1 s off: not a tone of the plan. */
        fake = *plan;
        fake.tone[TONE_BUSY].step[0].ms = 1000;
        fake.tone[TONE_BUSY].step[1].ms = 1000;
        listen(plan, &fake, TONE_BUSY, 2, &linear, 10000, 0, &r);
        got = first_on(&r, NULL);
        CHECK(got == TONE_NONE, "%s: 425 Hz 1 s / 1 s was reported as %s", plan->name, tone_name(got));

        /* The busy cadence at 1 kHz: not busy. */
        fake = *plan;
        fake.tone[TONE_BUSY].step[0].f1 = 1000;
        fake.tone[TONE_BUSY].step[0].f2 = 0;
        listen(plan, &fake, TONE_BUSY, 2, &linear, 10000, 0, &r);
        got = first_on(&r, NULL);
        CHECK(got == TONE_NONE, "%s: the busy cadence at 1000 Hz was reported as %s", plan->name, tone_name(got));

        /* Silence and faint noise: nothing. */
        {
            line_t quiet = {LAW_ALAW, -50.0f, 0.0f};
            supervise_t s;
            memset(&r, 0, sizeof(r));
            supervise_init(&s, plan, 2, report, &r);
            noise_state_t *nz = noise_init_dbm0(NULL, 99, quiet.noise_dbm0, NOISE_CLASS_AWGN, 0);
            for (int t = 0; t < 10000; t += FRAME_MS)
                feed(&s, &r, NULL, FRAME_SAMPLES, &quiet, nz);
            noise_free(nz);
            supervise_release(&s);
            CHECK(r.n == 0, "%s: noise gave %d reports, first %s", plan->name, r.n, tone_name(first_on(&r, NULL)));
        }
    }
}

/* Busy and congestion share frequencies; only the cadence tells them apart, and the
   ex-USSR plans' cadences are close to each other. */
static void test_cadences_told_apart(void)
{
    reports_t r;

    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);

        for (int pj = 0; pj < NPLANS; pj++)
        {
            const tone_plan_t *other = tone_plan_find(plan_names[pj]);
            int tones[] = {TONE_BUSY, TONE_CONGESTION};

            for (int k = 0; k < 2; k++)
            {
                const tone_step_t *o = &other->tone[tones[k]].step[0];
                int got;
                int expect = TONE_NONE;

                /* What the detector should say: the tone of its own plan with the same
                   frequencies and an on time inside its window, if there is one. Within
                   two 16 ms detector blocks of a window's edge either answer is right:
                   the block in which a tone stops may count to either side. */
                int unsure = 0;

                for (int id = TONE_BUSY; id <= TONE_CONGESTION; id += TONE_CONGESTION - TONE_BUSY)
                {
                    const tone_step_t *m = &plan->tone[id].step[0];
                    int lo = m->ms - m->ms * 15 / 100 - 40;
                    int hi = m->ms + m->ms * 15 / 100 + 40;
                    if (m->f1 != o->f1 || m->f2 != o->f2)
                        continue;
                    if (o->ms >= lo && o->ms <= hi)
                        expect = id;
                    if (abs(o->ms - lo) <= 32 || abs(o->ms - hi) <= 32)
                        unsure = 1;
                }
                if (unsure)
                    continue;
                listen(plan, other, tones[k], 2, &linear, 6000, 0, &r);
                got = first_on(&r, NULL);
                CHECK(got == expect, "%s detector, %s %s: reported %s, expected %s", plan->name, other->name,
                      tone_name(tones[k]), tone_name(got), tone_name(expect));
            }
        }
    }
}

/* After a reset the detector has no history: the tone it was hearing is not reported
   as ending, and a new tone needs all its cycles again. */
static void test_reset(void)
{
    const tone_plan_t *itu = tone_plan_find("itu");
    supervise_t s;
    player_t p;
    play_step_t st;
    int16_t frame[FRAME_SAMPLES];
    reports_t r;

    memset(&r, 0, sizeof(r));
    REQUIRE(supervise_init(&s, itu, 2, report, &r) != NULL, "supervise_init failed");
    player_init(&p);
    memset(&st, 0, sizeof(st));
    st.type = PLAY_TONE;
    st.id = TONE_BUSY;
    st.tone = &itu->tone[TONE_BUSY];
    st.len = -1;
    player_start(&p, &st, 1, 0, 0);
    for (int t = 0; t < 3000; t += FRAME_MS)
    {
        player_run(&p, frame, FRAME_SAMPLES);
        feed(&s, &r, frame, FRAME_SAMPLES, &linear, NULL);
    }
    CHECK(r.n == 1 && r.tone[0] == TONE_BUSY && r.on[0], "busy was not detected before the reset");
    supervise_reset(&s);
    CHECK(s.current == TONE_NONE, "the reset kept the current tone");
    r.n = 0;
    /* One burst of busy and then silence: too little for busy, and no end reported. */
    player_start(&p, &st, 1, 0, 0);
    for (int t = 0; t < 1000; t += FRAME_MS)
    {
        player_run(&p, frame, FRAME_SAMPLES);
        feed(&s, &r, frame, FRAME_SAMPLES, &linear, NULL);
    }
    feed(&s, &r, NULL, 2 * SAMPLE_RATE, &linear, NULL);
    CHECK(r.n == 0, "after the reset: %d reports, first %s %d", r.n, tone_name(r.n ? r.tone[0] : 0), r.n ? r.on[0] : -1);
    /* And it still detects. */
    player_start(&p, &st, 1, 0, 0);
    for (int t = 0; t < 3000; t += FRAME_MS)
    {
        player_run(&p, frame, FRAME_SAMPLES);
        feed(&s, &r, frame, FRAME_SAMPLES, &linear, NULL);
    }
    CHECK(r.n == 1 && r.tone[0] == TONE_BUSY && r.on[0], "busy was not detected after the reset");
    player_release(&p);
    supervise_release(&s);
}

/* A synthetic cadence for the checks on what counts as an exchange's tone: a burst of
   `hz` at amplitude amp[k % 2] for on[k % 2] ms, then off_ms of "silence" holding
   white noise of rms gap_rms and, in its middle 100 ms, a `gap_hz` tone of amplitude
   gap_amp; repeated for `bursts` bursts. Returns the first tone reported. */
typedef struct
{
    int hz;
    const int *on;
    const float *amp;
    int off_ms;
    float gap_rms;
    int gap_hz;
    float gap_amp;
    int bursts;
} cadence_t;

static int hear_cadence(const tone_plan_t *plan, const cadence_t *c, reports_t *r)
{
    supervise_t s;
    int16_t frame[FRAME_SAMPLES];
    int fill = 0;
    uint32_t seed = 12345;
    double ph = 0.0, gph = 0.0;

    memset(r, 0, sizeof(*r));
    if (supervise_init(&s, plan, 2, report, r) == NULL)
        return -1;
    for (int k = 0; k < c->bursts; k++)
    {
        int on = c->on[k % 2], total = (on + c->off_ms) * 8;

        for (int i = 0; i < total; i++)
        {
            float v = 0.0f;

            if (i < on * 8)
            {
                v = c->amp[k % 2] * (float) sin(ph);
                ph += 2.0 * M_PI * c->hz / SAMPLE_RATE;
            }
            else
            {
                int g = i - on * 8;
                /* Uniform noise of the given rms: sqrt(3) times it at the ends. */
                seed = seed * 1664525u + 1013904223u;
                v = c->gap_rms * 1.7320508f * ((float) (seed >> 8) / 8388608.0f - 1.0f);
                if (g >= (c->off_ms / 2 - 50) * 8 && g < (c->off_ms / 2 + 50) * 8)
                {
                    v += c->gap_amp * (float) sin(gph);
                    gph += 2.0 * M_PI * c->gap_hz / SAMPLE_RATE;
                }
            }
            frame[fill++] = (int16_t) lrintf(v);
            if (fill == FRAME_SAMPLES)
            {
                feed(&s, r, frame, FRAME_SAMPLES, &linear, NULL);
                fill = 0;
            }
        }
    }
    supervise_release(&s);
    return first_on(r, NULL);
}

/* The receiver matches frequencies and times only; busy and congestion end a call, so
   what it matched must also sound like an exchange: bursts of one level, silences
   that are silent, steps as long as the same step a cycle before. */
static void test_only_an_exchange_tone_counts(void)
{
    const tone_plan_t *ru = tone_plan_find("ru");
    const int even[2] = {350, 350};
    const int uneven[2] = {290, 410};
    const float level[2] = {4000.0f, 4000.0f};
    const float louder[2] = {4000.0f, 8000.0f};
    /* The tone's rms is 4000 / sqrt(2), about 2828. */
    cadence_t c = {425, even, level, 350, 0.0f, 1000, 0.0f, 8};
    reports_t r;
    int got;

    got = hear_cadence(ru, &c, &r);
    CHECK(got == TONE_BUSY, "clean busy reported as %s", tone_name(got));

    c.gap_rms = 2828.0f / 2.0f;     /* 6 dB under the tone */
    got = hear_cadence(ru, &c, &r);
    CHECK(got == TONE_NONE, "bursts with sound 6 dB under them between: reported %s", tone_name(got));

    c.gap_rms = 2828.0f / 8.0f;     /* 18 dB under: a noisy line */
    got = hear_cadence(ru, &c, &r);
    CHECK(got == TONE_BUSY, "busy on a line with noise 18 dB under it: reported %s", tone_name(got));

    c.gap_rms = 0.0f;
    c.gap_amp = 4000.0f / 5.6f;     /* 15 dB under the tone, 1000 Hz, in every silence */
    got = hear_cadence(ru, &c, &r);
    CHECK(got == TONE_BUSY, "busy with a faint other sound in its silences: reported %s", tone_name(got));

    c.gap_amp = 0.0f;
    c.amp = louder;
    got = hear_cadence(ru, &c, &r);
    CHECK(got == TONE_NONE, "bursts alternating 6 dB in level: reported %s", tone_name(got));

    c.amp = level;
    c.on = uneven;
    got = hear_cadence(ru, &c, &r);
    CHECK(got == TONE_NONE, "bursts of 290 and 410 ms in turn: reported %s", tone_name(got));
}

int main(void)
{
    CTEST_RUN(test_init_rejects);
    CTEST_RUN(test_each_plan);
    CTEST_RUN(test_tone_ends);
    CTEST_RUN(test_cycles);
    CTEST_RUN(test_not_busy);
    CTEST_RUN(test_cadences_told_apart);
    CTEST_RUN(test_only_an_exchange_tone_counts);
    CTEST_RUN(test_reset);
    return ctest_finish();
}
