/*
 * The call-progress tone receiver against spandsp's super_tone_rx: both are built with
 * the same calls and fed the same audio, and after every call they must hold the same
 * Goertzel states and block energy (to the bit), the same last result and segments,
 * the same tone, and must have made the same segment and tone callbacks; each block's
 * Goertzel results must be spandsp's to the bit. The audio: each plan's tones from the
 * box's player, noise, tones at the edges of the 10 Hz merge, two-frequency tones
 * either side of the 6 dB twist, levels across the -42 dBm0 threshold and blocks one
 * either side of it, a tone under noise across the 3 dB tone-to-total limit, clicks
 * that tie the filters, and speech-like and music-like sound. Receivers that restart
 * from inside their callbacks (as the engine's does when a busy tone ends a call) must
 * stay alike too.
 */
#define SPANDSP_EXPOSE_INTERNAL_STRUCTURES
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "common.h"
#include "playback.h"
#include "supervise.h"
#include "tonerx.h"
#include "toneplan.h"

static const char *const plan_names[] = {"itu", "ru", "ua", "us"};
#define NPLANS ((int) (sizeof(plan_names) / sizeof(plan_names[0])))

#define MAX_EVENTS 16

typedef struct
{
    int tone;           /* -1 or a tone's number; -2 for a segment */
    int f1;
    int f2;
    int ms;
} event_t;

typedef struct pair_s pair_t;

typedef struct
{
    pair_t *pair;
    event_t ev[MAX_EVENTS];
    int n;
} side_t;

/* restart: the receivers restart from inside their callbacks. */
enum
{
    RESTART_NEVER,
    RESTART_AT_TONE,        /* when a tone starts */
    RESTART_AT_SEGMENT      /* and at every 5th segment */
};

struct pair_s
{
    tonerx_t mine;
    super_tone_rx_descriptor_t *desc;
    super_tone_rx_state_t *ref;
    side_t side[2];         /* mine, spandsp's */
    int restart;
    int segments_seen[2];
    const char *diff;       /* the first difference, or NULL */
    int64_t at;             /* samples fed */
};

static pair_t pair;
static uint32_t seed = 1;
static long long blocks_compared;
static long long segments_compared;
static long long tones_compared;

static uint32_t rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

/* Uniform in [0, 1). */
static double uniform(void)
{
    return (double) rnd() / 16777216.0;
}

static void note(side_t *side, int tone, int f1, int f2, int ms)
{
    if (side->n < MAX_EVENTS)
        side->ev[side->n] = (event_t) {tone, f1, f2, ms};
    side->n++;
}

static void ref_tone(void *user, int code, int level, int delay);
static void ref_segment(void *user, int f1, int f2, int duration);

static void ref_restart(pair_t *p)
{
    super_tone_rx_init(p->ref, p->desc, ref_tone, &p->side[1]);
    super_tone_rx_segment_callback(p->ref, ref_segment);
}

static void ref_tone(void *user, int code, int level, int delay)
{
    side_t *side = (side_t *) user;

    (void) level;
    (void) delay;
    note(side, code, 0, 0, 0);
    if (code >= 0 && side->pair->restart != RESTART_NEVER)
        ref_restart(side->pair);
}

static void ref_segment(void *user, int f1, int f2, int duration)
{
    side_t *side = (side_t *) user;

    note(side, -2, f1, f2, duration);
    if (side->pair->restart == RESTART_AT_SEGMENT && ++side->pair->segments_seen[1] % 5 == 0)
        ref_restart(side->pair);
}

static void my_tone(void *user, int tone)
{
    side_t *side = (side_t *) user;

    note(side, tone, 0, 0, 0);
    if (tone >= 0 && side->pair->restart != RESTART_NEVER)
        tonerx_restart(&side->pair->mine);
}

static void my_segment(void *user, int f1, int f2, int ms)
{
    side_t *side = (side_t *) user;

    note(side, -2, f1, f2, ms);
    if (side->pair->restart == RESTART_AT_SEGMENT && ++side->pair->segments_seen[0] % 5 == 0)
        tonerx_restart(&side->pair->mine);
}

static int same_float(float a, float b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* spandsp's descriptor from the calls that built rx: tone by tone, each tone's steps
   right after it, as they were asked for. */
static super_tone_rx_descriptor_t *reference_descriptor(const tonerx_t *rx)
{
    super_tone_rx_descriptor_t *d = super_tone_rx_make_descriptor(NULL);

    for (int t = 0; d && t < rx->ntones; t++)
    {
        super_tone_rx_add_tone(d);
        for (int k = 0; k < rx->nsteps[t]; k++)
        {
            const tonerx_step_t *st = &rx->step[rx->first[t] + k];
            super_tone_rx_add_element(d, t, st->hz1, st->hz2, st->min / 8, st->max == INT32_MAX ? 0 : st->max / 8);
        }
    }
    return d;
}

/* Both built alike: the same filters, numbered alike, and the same steps. */
static int same_description(const tonerx_t *rx, const super_tone_rx_descriptor_t *d)
{
    if (d->monitored_frequencies != rx->nfreqs || d->tones != rx->ntones)
        return 0;
    for (int i = 0; i < rx->nfreqs; i++)
    {
        if (!same_float(d->desc[i].fac, rx->fac[i]))
            return 0;
    }
    for (int t = 0; t < rx->ntones; t++)
    {
        if (d->tone_segs[t] != rx->nsteps[t])
            return 0;
        for (int k = 0; k < rx->nsteps[t]; k++)
        {
            const super_tone_rx_segment_t *e = &d->tone_list[t][k];
            const tonerx_step_t *st = &rx->step[rx->first[t] + k];
            if (e->f1 != st->f1 || e->f2 != st->f2 || e->min_duration != st->min || e->max_duration != st->max)
                return 0;
        }
    }
    return 1;
}

/* A pair of receivers for what rx listens for. */
static int pair_start(pair_t *p, const tonerx_t *rx, int restart, const char *what)
{
    memset(p, 0, sizeof(*p));
    p->restart = restart;
    p->side[0].pair = p;
    p->side[1].pair = p;
    p->mine = *rx;
    p->mine.tone = my_tone;
    p->mine.segment = my_segment;
    p->mine.user = &p->side[0];
    tonerx_restart(&p->mine);
    p->desc = reference_descriptor(&p->mine);
    if (p->desc == NULL)
        return 0;
    CHECK(same_description(&p->mine, p->desc), "%s: the receivers were built differently", what);
    p->ref = super_tone_rx_init(NULL, p->desc, ref_tone, &p->side[1]);
    if (p->ref == NULL)
        return 0;
    super_tone_rx_segment_callback(p->ref, ref_segment);
    return 1;
}

static void pair_end(pair_t *p)
{
    super_tone_rx_free(p->ref);
    super_tone_rx_free_descriptor(p->desc);
    p->ref = NULL;
    p->desc = NULL;
}

/* What differs between the two after a call, or NULL; power: what spandsp's filters
   gave for a block that ended in the call, or NULL. */
static const char *difference(const pair_t *p, const float *power)
{
    const super_tone_rx_state_t *r = p->ref;
    const tonerx_t *m = &p->mine;
    const side_t *a = &p->side[0];
    const side_t *b = &p->side[1];

    if (a->n != b->n || a->n > MAX_EVENTS)
        return "the number of callbacks";
    for (int i = 0; i < a->n; i++)
    {
        if (a->ev[i].tone != b->ev[i].tone)
            return a->ev[i].tone == -2 || b->ev[i].tone == -2 ? "the kind of callback" : "a tone callback";
        if (a->ev[i].f1 != b->ev[i].f1 || a->ev[i].f2 != b->ev[i].f2 || a->ev[i].ms != b->ev[i].ms)
            return "a segment callback";
    }
    for (int i = 0; power && i < m->nfreqs; i++)
    {
        if (!same_float(power[i], m->power[i]))
            return "a Goertzel result";
    }
    if (!same_float(r->energy, m->energy))
        return "the block energy";
    for (int i = 0; i < m->nfreqs; i++)
    {
        if (!same_float(r->state[i].v2, m->v2[i]) || !same_float(r->state[i].v3, m->v3[i]))
            return "a Goertzel state";
        if (r->state[i].current_sample != m->fill)
            return "the place in the block";
    }
    if (r->segments[10].f1 != m->last_f1 || r->segments[10].f2 != m->last_f2)
        return "the last block's result";
    for (int i = 0; i < TONERX_SEGMENTS; i++)
    {
        if (r->segments[i].f1 != m->seg[i].f1 || r->segments[i].f2 != m->seg[i].f2
            || r->segments[i].min_duration != m->seg[i].blocks)
            return "the segments";
    }
    if (r->detected_tone != m->detected || (m->detected >= 0 && r->rotation != m->rotation))
        return "the tone heard";
    return NULL;
}

/* Feeds amp to both, in blocks of 128 or in pieces of 1 to 128 samples (at most one
   block ends in each, so every block's result is compared), comparing after each
   until they differ. */
static void feed(pair_t *p, const int16_t *amp, int n, int pieces)
{
    while (n > 0 && p->diff == NULL)
    {
        int take = pieces ? 1 + (int) (rnd() % TONERX_BLOCK) : TONERX_BLOCK - p->mine.fill;
        int fill = p->mine.fill;
        int ends = 0;
        float power[TONERX_MAX_FREQS];

        if (take > n)
            take = n;
        /* A block ends in this call: what spandsp's filters will give for it, from
           copies run to its end. */
        if (fill + take >= TONERX_BLOCK)
        {
            ends = 1;
            for (int i = 0; i < p->mine.nfreqs; i++)
            {
                goertzel_state_t g = p->ref->state[i];
                goertzel_update(&g, amp, TONERX_BLOCK - fill);
                power[i] = goertzel_result(&g);
            }
        }
        p->side[0].n = 0;
        p->side[1].n = 0;
        super_tone_rx(p->ref, amp, take);
        tonerx_rx(&p->mine, amp, take);
        p->at += take;
        if ((p->diff = difference(p, ends ? power : NULL)) != NULL)
            break;
        blocks_compared += ends;
        for (int i = 0; i < p->side[0].n; i++)
        {
            if (p->side[0].ev[i].tone == -2)
                segments_compared++;
            else
                tones_compared++;
        }
        amp += take;
        n -= take;
    }
}

/* rx's pair hears amp, once in whole blocks and once in pieces; with each way of
   restarting from a callback in turn. */
static void compare(const tonerx_t *rx, const int16_t *amp, int n, const char *what)
{
    static int turn;

    for (int pieces = 0; pieces < 2; pieces++)
    {
        if (!pair_start(&pair, rx, turn++ % 3, what))
        {
            CHECK(0, "%s: spandsp's receiver could not be built", what);
            return;
        }
        feed(&pair, amp, n, pieces);
        CHECK(pair.diff == NULL, "%s, %s, restarts %d: %s differs from super_tone_rx's at %.3f s", what,
              pieces ? "in pieces" : "in blocks", pair.restart, pair.diff, pair.at / (double) SAMPLE_RATE);
        pair_end(&pair);
    }
}

/* ---- sounds ---- */

/* Peak of a sine at dbm0 on spandsp's scale (a full-scale sine is DBM0_MAX_SINE_POWER). */
static double peak(double dbm0)
{
    return 32767.0 * pow(10.0, (dbm0 - DBM0_MAX_SINE_POWER) / 20.0);
}

static int16_t clip(double v)
{
    return (int16_t) (v > 32767.0 ? 32767 : (v < -32768.0 ? -32768 : lrint(v)));
}

typedef struct
{
    int16_t *amp;
    int n;
    int max;
} sound_t;

static void sound_init(sound_t *s, int seconds)
{
    s->max = seconds * SAMPLE_RATE;
    s->amp = calloc(s->max, sizeof(int16_t));
    s->n = 0;
}

/* ms of one or two sines (Hz 0: none), continuing the phases. */
static void tones(sound_t *s, double *ph, double hz1, double dbm1, double hz2, double dbm2, int ms)
{
    double a1 = peak(dbm1), a2 = peak(dbm2);

    for (int i = 0; i < ms * 8 && s->n < s->max; i++)
    {
        double v = 0.0;
        if (hz1 > 0.0)
            v += a1 * sin(ph[0]);
        if (hz2 > 0.0)
            v += a2 * sin(ph[1]);
        ph[0] += 2.0 * M_PI * hz1 / SAMPLE_RATE;
        ph[1] += 2.0 * M_PI * hz2 / SAMPLE_RATE;
        s->amp[s->n++] = clip(v);
    }
}

/* A tone of the plan from the box's player, for play_ms, through a G.711 line with
   noise and loss (law -1: linear, clean). */
static void played(sound_t *s, const tone_def_t *t, int play_ms, int law, float noise_dbm0, float gain_db)
{
    player_t p;
    play_step_t st;
    int16_t frame[FRAME_SAMPLES];
    noise_state_t *nz = (noise_dbm0 > -90.0f) ? noise_init_dbm0(NULL, 1234, noise_dbm0, NOISE_CLASS_AWGN, 0) : NULL;
    float g = powf(10.0f, gain_db / 20.0f);

    player_init(&p);
    memset(&st, 0, sizeof(st));
    st.type = PLAY_TONE;
    st.tone = t;
    st.len = -1;
    player_start(&p, &st, 1, 0, 0);
    for (int ms = 0; ms < play_ms && s->n + FRAME_SAMPLES <= s->max; ms += FRAME_MS)
    {
        player_run(&p, frame, FRAME_SAMPLES);
        for (int i = 0; i < FRAME_SAMPLES; i++)
        {
            int16_t x = clip(frame[i] * g + (nz ? noise(nz) : 0));
            if (law == LAW_ALAW)
                x = alaw_to_linear(linear_to_alaw(x));
            else if (law == LAW_ULAW)
                x = ulaw_to_linear(linear_to_ulaw(x));
            s->amp[s->n++] = x;
        }
    }
    if (nz)
        noise_free(nz);
    player_release(&p);
}

static void noise_for(sound_t *s, int seed_, float dbm0, int ms)
{
    noise_state_t *nz = noise_init_dbm0(NULL, seed_, dbm0, NOISE_CLASS_AWGN, 0);

    for (int i = 0; i < ms * 8 && s->n < s->max; i++)
        s->amp[s->n++] = noise(nz);
    noise_free(nz);
}

/* Voiced syllables: a glottal tone of 90 to 250 Hz with vibrato, its harmonics shaped
   by three formants that move from syllable to syllable, under a rising and falling
   envelope, with pauses between; now and then a burst of hiss. */
static void speech_like(sound_t *s, int seconds)
{
    int end = s->n + seconds * SAMPLE_RATE;
    double ph[40] = {0.0};

    if (end > s->max)
        end = s->max;
    while (s->n < end)
    {
        int len = (int) ((0.08 + 0.25 * uniform()) * SAMPLE_RATE);
        int gap = (int) ((0.03 + 0.35 * uniform()) * SAMPLE_RATE);
        double f0 = 90.0 + 160.0 * uniform(), glide = (uniform() - 0.5) * 0.4;
        double fm[3] = {300.0 + 500.0 * uniform(), 900.0 + 1400.0 * uniform(), 2400.0 + 600.0 * uniform()};
        double level = peak(-35.0 + 25.0 * uniform()) / 4.0;
        int hiss = uniform() < 0.2;

        for (int i = 0; i < len && s->n < end; i++)
        {
            double t = (double) i / len;
            double env = sin(M_PI * t) * sin(M_PI * t);
            double f = f0 * (1.0 + glide * t) * (1.0 + 0.03 * sin(2.0 * M_PI * 5.5 * i / SAMPLE_RATE));
            double v = 0.0;

            for (int h = 1; h < 40 && h * f < 3800.0; h++)
            {
                double w = 0.0;
                for (int k = 0; k < 3; k++)
                    w += 1.0 / (1.0 + pow((h * f - fm[k]) / (80.0 + 40.0 * k), 2.0));
                ph[h] += 2.0 * M_PI * h * f / SAMPLE_RATE;
                v += w * sin(ph[h]) / sqrt((double) h);
            }
            if (hiss)
                v = v * 0.3 + 2.0 * (uniform() - 0.5);
            s->amp[s->n++] = clip(level * env * v);
        }
        for (int i = 0; i < gap && s->n < end; i++)
            s->amp[s->n++] = clip(20.0 * (uniform() - 0.5));
    }
}

/* Notes of an equal-tempered scale from 110 to 880 Hz, one to three at a time, each
   with six harmonics, vibrato and an attack-decay envelope; some land near 425 Hz. */
static void music_like(sound_t *s, int seconds)
{
    int end = s->n + seconds * SAMPLE_RATE;

    if (end > s->max)
        end = s->max;
    while (s->n < end)
    {
        int len = (int) ((0.12 + 0.7 * uniform()) * SAMPLE_RATE);
        int voices = 1 + (int) (rnd() % 3);
        double f[3], ph[3][6] = {{0.0}};
        double level = peak(-30.0 + 22.0 * uniform()) / voices / 2.0;
        double legato = uniform();

        for (int k = 0; k < voices; k++)
            f[k] = 110.0 * pow(2.0, (double) (rnd() % 37) / 12.0);
        for (int i = 0; i < len && s->n < end; i++)
        {
            double t = (double) i / SAMPLE_RATE;
            double env = (t < 0.02 ? t / 0.02 : 1.0) * exp(-t * (1.0 + 3.0 * legato));
            double v = 0.0;

            for (int k = 0; k < voices; k++)
            {
                double fk = f[k] * (1.0 + 0.005 * sin(2.0 * M_PI * 5.0 * t));
                for (int h = 0; h < 6 && (h + 1) * fk < 3900.0; h++)
                {
                    ph[k][h] += 2.0 * M_PI * (h + 1) * fk / SAMPLE_RATE;
                    v += sin(ph[k][h]) / (h + 1);
                }
            }
            s->amp[s->n++] = clip(level * env * v);
        }
    }
}

/* ---- cases ---- */

static void ignore(void *user, int tone, int on)
{
    (void) user;
    (void) tone;
    (void) on;
}

/* The receiver the channel's supervision builds for the plan. */
static void sup_for(supervise_t *sup, const tone_plan_t *plan, int cycles)
{
    if (supervise_init(sup, plan, cycles, ignore, NULL) == NULL)
        memset(sup, 0, sizeof(*sup));
}

static void test_lifecycle(void)
{
    tonerx_t s;
    tonerx_t *heap;
    int tone;

    CHECK(tonerx_init(&s, NULL, NULL, NULL) == NULL, "no tone callback accepted");
    heap = tonerx_init(NULL, my_tone, NULL, NULL);
    CHECK(heap != NULL && heap->detected == -1 && heap->nfreqs == 0, "allocated receiver");
    CHECK(tonerx_free(heap) == 0, "tonerx_free failed");
    REQUIRE(tonerx_init(&s, my_tone, NULL, NULL) == &s, "tonerx_init failed");
    CHECK(tonerx_add_element(&s, 0, 425, 0, 100, 0) == -1, "a step for no tone accepted");
    tone = tonerx_add_tone(&s);
    CHECK(tone == 0 && tonerx_add_element(&s, 0, 425, 0, 100, 0) == 0
          && tonerx_add_element(&s, 0, 0, 0, 100, 200) == 1, "steps not numbered in order");
    CHECK(tonerx_add_tone(&s) == 1 && tonerx_add_element(&s, 0, 425, 0, 100, 0) == -1,
          "a step for a tone that is not the last accepted");
    CHECK(s.nfreqs == 1 && s.step[0].f1 == 0 && s.step[0].f2 == -1 && s.step[1].f1 == -1
          && s.step[0].min == 800 && s.step[0].max == INT32_MAX && s.step[1].max == 1600,
          "steps: frequencies %d/%d %d, times %d..%d %d", s.step[0].f1, s.step[0].f2, s.step[1].f1,
          s.step[0].min, s.step[0].max, s.step[1].max);
    while (tonerx_add_tone(&s) >= 0)
        ;
    CHECK(s.ntones == TONERX_MAX_TONES, "%d tones", s.ntones);
    CHECK(tonerx_release(&s) == 0, "tonerx_release failed");
}

/* Each plan's tones from the player, on a clean line and a noisy A-law line, for
   detectors asking 1, 2 and 5 cycles; then silence, so tones end. */
static void test_plan_tones(void)
{
    static const int ids[] = {TONE_BUSY, TONE_CONGESTION, TONE_RINGBACK, TONE_DIAL};
    static const int cycles[] = {1, 2, 5};
    sound_t s;

    sound_init(&s, 12);
    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);

        for (unsigned ci = 0; ci < sizeof(cycles) / sizeof(cycles[0]); ci++)
        {
            supervise_t sup;

            sup_for(&sup, plan, cycles[ci]);
            for (unsigned ti = 0; ti < sizeof(ids) / sizeof(ids[0]); ti++)
            {
                for (int line = 0; line < 2; line++)
                {
                    char what[96];

                    s.n = 0;
                    if (line == 0)
                        played(&s, &plan->tone[ids[ti]], 9000, -1, -99.0f, 0.0f);
                    else
                        played(&s, &plan->tone[ids[ti]], 9000, LAW_ALAW, -50.0f, -6.0f);
                    memset(s.amp + s.n, 0, (s.max - s.n) * sizeof(int16_t));
                    snprintf(what, sizeof(what), "%s %s, %d cycles, line %d", plan->name, tone_name(ids[ti]),
                             cycles[ci], line);
                    compare(&sup.rx, s.amp, s.max, what);
                }
            }
            supervise_release(&sup);
        }
    }
    free(s.amp);
}

/* White noise from far below the threshold to loud, with silences between. */
static void test_noise(void)
{
    static const float levels[] = {-60.0f, -48.0f, -43.0f, -41.0f, -35.0f, -25.0f, -15.0f, -8.0f};
    sound_t s;

    sound_init(&s, 30);
    for (unsigned i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
    {
        noise_for(&s, 7 + i, levels[i], 2500);
        noise_for(&s, 99, -90.0f, 300);
    }
    for (int pi = 0; pi < NPLANS; pi++)
    {
        supervise_t sup;
        char what[64];

        sup_for(&sup, tone_plan_find(plan_names[pi]), 2);
        snprintf(what, sizeof(what), "%s, noise", plan_names[pi]);
        compare(&sup.rx, s.amp, s.n, what);
        supervise_release(&sup);
    }
    free(s.amp);
}

/* Frequencies named 10 Hz apart share a filter, 11 Hz apart do not; names that join
   names that joined before number their filters as super_tone_rx does. Tones step
   across all of them, alone and in pairs, in a cadence the patterns ask for. */
static void test_merge_edges(void)
{
    static const int named[][2] =
    {
        {400, 0}, {410, 0}, {421, 0}, {431, 0}, {600, 611}, {605, 0}, {1000, 0}, {605, 431}, {415, 0}, {431, 605},
    };
    tonerx_t rx;
    sound_t s;
    double ph[2] = {0.0, 0.0};
    int t = -1;

    tonerx_init(&rx, my_tone, NULL, NULL);
    for (unsigned i = 0; i < sizeof(named) / sizeof(named[0]); i++)
    {
        /* Two tones of steps: the pair on for 200 to 400 ms, then off; and the pair for
           a second or more. */
        if (i % 5 == 0)
            t = tonerx_add_tone(&rx);
        tonerx_add_element(&rx, t, named[i][0], named[i][1], 200, 400);
        tonerx_add_element(&rx, t, 0, 0, 100, 300);
    }
    t = tonerx_add_tone(&rx);
    tonerx_add_element(&rx, t, 421, 0, 1000, 0);
    t = tonerx_add_tone(&rx);
    tonerx_add_element(&rx, t, 605, 0, 1000, 0);
    CHECK(rx.nfreqs == 5, "%d filters for 9 frequencies named, 4 of them within 10 Hz of one named before", rx.nfreqs);

    sound_init(&s, 200);
    for (int hz = 385; hz <= 450; hz++)
    {
        tones(&s, ph, hz, -18.0, 0.0, 0.0, 300);
        tones(&s, ph, 0.0, 0.0, 0.0, 0.0, 200);
    }
    for (int hz = 585; hz <= 625; hz++)
    {
        tones(&s, ph, hz, -20.0, 421.0 + (hz % 7) - 3, -21.0, 300);
        tones(&s, ph, 0.0, 0.0, 0.0, 0.0, 200);
    }
    for (int hz = 413; hz <= 438; hz += 5)
        tones(&s, ph, hz, -15.0, 0.0, 0.0, 1500);
    tones(&s, ph, 1000.0, -15.0, 0.0, 0.0, 1500);
    compare(&rx, s.amp, s.n, "frequencies at the 10 Hz merge");
    free(s.amp);

    /* The plan's 425 Hz busy cadence 9 to 11 Hz off. */
    for (int pi = 0; pi < NPLANS - 1; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);
        const tone_step_t *on = &plan->tone[TONE_BUSY].step[0];
        supervise_t sup;
        char what[64];

        sound_init(&s, 60);
        for (int d = -11; d <= 11; d++)
        {
            if (abs(d) < 9)
                continue;
            for (int c = 0; c < 5; c++)
            {
                tones(&s, ph, on->f1 + d, -20.0, 0.0, 0.0, on->ms);
                tones(&s, ph, 0.0, 0.0, 0.0, 0.0, plan->tone[TONE_BUSY].step[1].ms);
            }
        }
        sup_for(&sup, plan, 2);
        snprintf(what, sizeof(what), "%s, busy 9 to 11 Hz off", plan->name);
        compare(&sup.rx, s.amp, s.n, what);
        supervise_release(&sup);
        free(s.amp);
    }
}

/* The us plan's two-frequency tones with one frequency 5 to 7 dB under the other,
   either way round, as busy bursts. */
static void test_twist(void)
{
    const tone_plan_t *us = tone_plan_find("us");
    supervise_t sup;
    sound_t s;
    double ph[2] = {0.0, 0.0};

    sound_init(&s, 200);
    for (int way = 0; way < 2; way++)
    {
        for (int cb = 500; cb <= 700; cb += 4)
        {
            double db = cb / 100.0;
            double strong = -18.0, weak = -18.0 - db;

            tones(&s, ph, 480.0, way ? weak : strong, 620.0, way ? strong : weak, 500);
            tones(&s, ph, 0.0, 0.0, 0.0, 0.0, 500);
        }
    }
    /* And ringback's 440 + 480 Hz, each steady while the other fades across 6 dB. */
    for (int i = 0; i <= 200; i++)
        tones(&s, ph, 440.0, -19.0, 480.0, -19.0 - 5.0 - 2.0 * i / 200.0, 40);
    sup_for(&sup, us, 2);
    compare(&sup.rx, s.amp, s.n, "us, twist around 6 dB");
    supervise_release(&sup);
    free(s.amp);
}

/* Slow ramps across -42 dBm0 up and down; and a tone under rising noise, across the
   3 dB the two strongest frequencies must carry. */
static void test_levels(void)
{
    sound_t s;
    double ph[2] = {0.0, 0.0};
    noise_state_t *nz;

    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);
        const tone_step_t *dial = &plan->tone[TONE_DIAL].step[0];
        supervise_t sup;
        char what[64];
        /* Two frequencies each 3 dB under the level of one sum to the same power. */
        double two = dial->f2 ? 3.0103 : 0.0;

        sound_init(&s, 50);
        for (int i = 0; i <= 600; i++)
        {
            double dbm0 = -48.0 + 12.0 * i / 600.0;
            tones(&s, ph, dial->f1, dbm0 - two, dial->f2, dbm0 - two, 16);
        }
        for (int i = 600; i >= 0; i--)
        {
            double dbm0 = -48.0 + 12.0 * i / 600.0;
            tones(&s, ph, dial->f1, dbm0 - two, dial->f2, dbm0 - two, 17);
        }
        nz = noise_init_dbm0(NULL, 5, -45.0f, NOISE_CLASS_AWGN, 0);
        for (int i = 0; i < 15 * SAMPLE_RATE; i++)
        {
            double noise_db = -45.0 + 35.0 * i / (15.0 * SAMPLE_RATE);
            double v = peak(-20.0) * sin(ph[0]) + noise(nz) * pow(10.0, (noise_db + 45.0) / 20.0);
            ph[0] += 2.0 * M_PI * dial->f1 / SAMPLE_RATE;
            if (s.n < s.max)
                s.amp[s.n++] = clip(v);
        }
        noise_free(nz);
        sup_for(&sup, plan, 2);
        snprintf(what, sizeof(what), "%s, level sweeps", plan->name);
        compare(&sup.rx, s.amp, s.n, what);
        supervise_release(&sup);
        free(s.amp);
    }
}

/* One block of a sine at hz whose samples' squares sum to exactly `sum`: a sine a
   little weaker, its last samples silent, then grown one sample by one step at a time,
   the largest step that does not pass the sum. Returns 0 if it cannot be done. */
static int block_of_energy(int16_t *blk, double hz, double ph, int64_t sum)
{
    double a = 0.95 * sqrt(2.0 * sum / (TONERX_BLOCK - 8));
    int64_t have = 0;

    for (int i = 0; i < TONERX_BLOCK; i++)
    {
        blk[i] = (i < TONERX_BLOCK - 8) ? clip(a * sin(ph + 2.0 * M_PI * hz * i / SAMPLE_RATE)) : 0;
        have += (int64_t) blk[i] * blk[i];
    }
    while (have < sum)
    {
        int best = -1;
        int64_t step = 0;

        for (int i = 0; i < TONERX_BLOCK; i++)
        {
            int64_t d = 2 * (int64_t) abs(blk[i]) + 1;
            if (d <= sum - have && d > step)
            {
                best = i;
                step = d;
            }
        }
        if (best < 0)
            return 0;
        blk[best] += (blk[best] < 0) ? -1 : 1;
        have += step;
    }
    return have == sum;
}

/* Blocks whose energy is one or two either side of the -42 dBm0 threshold (2104205.5
   as summed squares): tones heard, or not, by the smallest margin there is. */
static void test_threshold(void)
{
    static const int64_t sums[] = {2104204, 2104205, 2104206, 2104207};
    sound_t s;

    for (int pi = 0; pi < NPLANS; pi++)
    {
        const tone_plan_t *plan = tone_plan_find(plan_names[pi]);
        supervise_t sup;
        char what[64];
        int made = 1;

        sound_init(&s, 4);
        for (int k = 0; (k + 1) * TONERX_BLOCK <= s.max; k++)
        {
            /* Pairs of blocks mostly, so that segments form. */
            int64_t sum = sums[(k / 2 + (rnd() % 4 == 0)) % 4];
            made &= block_of_energy(s.amp + k * TONERX_BLOCK, plan->tone[TONE_BUSY].step[0].f1,
                                    uniform() * 2.0 * M_PI, sum);
        }
        s.n = s.max;
        CHECK(made, "%s: blocks of an exact energy could not be made", plan->name);
        sup_for(&sup, plan, 2);
        snprintf(what, sizeof(what), "%s, at the threshold", plan->name);
        compare(&sup.rx, s.amp, s.n, what);
        supervise_release(&sup);
        free(s.amp);
    }
}

/* Clicks: single samples in silence. One on a block's last sample leaves every filter
   with the same power, so the ranking sees ties. */
static void test_clicks(void)
{
    static const int16_t heights[] = {1000, 1450, 1451, 2048, -2048, 3000, 16384, -32768};
    sound_t s;

    sound_init(&s, 20);
    for (int k = 0; (k + 1) * TONERX_BLOCK <= s.max; k++)
    {
        int at = k * TONERX_BLOCK + ((k % 3) ? TONERX_BLOCK - 1 : (int) (rnd() % TONERX_BLOCK));
        if (k % 4 != 3)
            s.amp[at] = heights[(k / 4) % (sizeof(heights) / sizeof(heights[0]))];
        if (k % 5 == 0 && at > 0)
            s.amp[at - 1] = s.amp[at] / 2;
    }
    s.n = s.max;
    for (int pi = 0; pi < NPLANS; pi++)
    {
        supervise_t sup;
        char what[64];

        sup_for(&sup, tone_plan_find(plan_names[pi]), 2);
        snprintf(what, sizeof(what), "%s, clicks", plan_names[pi]);
        compare(&sup.rx, s.amp, s.n, what);
        supervise_release(&sup);
    }
    free(s.amp);
}

static void test_speech_and_music(void)
{
    sound_t s;

    sound_init(&s, 40);
    speech_like(&s, 20);
    music_like(&s, 20);
    for (int pi = 0; pi < NPLANS; pi++)
    {
        supervise_t sup;
        char what[64];

        sup_for(&sup, tone_plan_find(plan_names[pi]), 2);
        snprintf(what, sizeof(what), "%s, speech and music", plan_names[pi]);
        compare(&sup.rx, s.amp, s.n, what);
        supervise_release(&sup);
    }
    free(s.amp);
}

int main(void)
{
    CTEST_RUN(test_lifecycle);
    CTEST_RUN(test_plan_tones);
    CTEST_RUN(test_noise);
    CTEST_RUN(test_merge_edges);
    CTEST_RUN(test_twist);
    CTEST_RUN(test_levels);
    CTEST_RUN(test_threshold);
    CTEST_RUN(test_clicks);
    CTEST_RUN(test_speech_and_music);
    printf("%lld blocks compared with super_tone_rx: %lld segment and %lld tone callbacks alike\n", blocks_compared,
           segments_compared, tones_compared);
    return ctest_finish();
}
