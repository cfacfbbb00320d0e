#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#include "tonerx.h"

/* super_tone_rx's limits, the same floats. */
#define DETECTION_THRESHOLD 2104205.6f  /* -42 dBm0, as a block's summed squares */
#define TONE_TO_TOTAL 1.995f            /* 3 dB */
#define TWIST 3.981f                    /* 6 dB */

/* One lane per filter. GCC lowers the vectors to whatever the target has: SSE2 on
   any x86-64, pairs or single floats elsewhere. */
typedef float v4sf __attribute__((vector_size(16)));
#define LANES 4
#define VECS (TONERX_MAX_FREQS / LANES)

static void set_filter(tonerx_t *s, int no, float hz)
{
    goertzel_descriptor_t d;

    /* spandsp's coefficient, so the filters start from the same number. */
    make_goertzel_descriptor(&d, hz, TONERX_BLOCK);
    s->fac[no] = d.fac;
}

/* A frequency's number, naming it if it is new; -1 for none, -2 when full. A frequency
   within 10 Hz of one named before shares that one's filter. As in super_tone_rx,
   the new name records the index of the name it joined rather than that name's number,
   and a later exact match returns what was recorded: with names that merged before,
   these differ, and so would the receivers if this did not do the same. */
static int number(tonerx_t *s, int hz)
{
    int n = s->nnamed;

    if (hz == 0)
        return -1;
    for (int i = 0; i < n; i++)
    {
        if (s->named_hz[i] == hz)
            return s->named_no[i];
    }
    if (n == TONERX_MAX_FREQS)
        return -2;
    for (int i = 0; i < n; i++)
    {
        if (s->named_hz[i] - 10 <= hz && hz <= s->named_hz[i] + 10)
        {
            s->named_hz[n] = hz;
            s->named_no[n] = i;
            set_filter(s, s->named_no[i], (float) (hz + s->named_hz[i]) * 0.5f);
            s->nnamed++;
            return s->named_no[i];
        }
    }
    if (s->nfreqs == TONERX_MAX_FREQS)
        return -2;
    s->named_hz[n] = hz;
    s->named_no[n] = s->nfreqs;
    set_filter(s, s->nfreqs++, (float) hz);
    s->nnamed++;
    return s->named_no[n];
}

tonerx_t *tonerx_init(tonerx_t *s, tonerx_tone_func_t tone, tonerx_segment_func_t segment, void *user)
{
    if (tone == NULL)
        return NULL;
    if (s == NULL)
    {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
    }
    else
    {
        memset(s, 0, sizeof(*s));
    }
    s->tone = tone;
    s->segment = segment;
    s->user = user;
    tonerx_restart(s);
    return s;
}

int tonerx_release(tonerx_t *s)
{
    (void) s;
    return 0;
}

int tonerx_free(tonerx_t *s)
{
    free(s);
    return 0;
}

int tonerx_add_tone(tonerx_t *s)
{
    if (s->ntones == TONERX_MAX_TONES)
        return -1;
    s->first[s->ntones] = s->nstep;
    s->nsteps[s->ntones] = 0;
    return s->ntones++;
}

int tonerx_add_element(tonerx_t *s, int tone, int f1, int f2, int min_ms, int max_ms)
{
    tonerx_step_t *st = &s->step[s->nstep];

    if (tone < 0 || tone != s->ntones - 1 || s->nstep == TONERX_MAX_STEPS)
        return -1;
    if ((st->f1 = number(s, f1)) < -1 || (st->f2 = number(s, f2)) < -1)
        return -1;
    st->min = min_ms * 8;
    st->max = (max_ms == 0) ? INT32_MAX : max_ms * 8;
    st->hz1 = f1;
    st->hz2 = f2;
    s->nstep++;
    return s->nsteps[tone]++;
}

void tonerx_restart(tonerx_t *s)
{
    s->fill = 0;
    s->energy = 0.0f;
    memset(s->v2, 0, sizeof(s->v2));
    memset(s->v3, 0, sizeof(s->v3));
    s->last_f1 = -1;
    s->last_f2 = -1;
    for (int i = 0; i < TONERX_SEGMENTS; i++)
    {
        s->seg[i].f1 = -1;
        s->seg[i].f2 = -1;
        s->seg[i].blocks = 0;
    }
    s->detected = -1;
    s->rotation = 0;
}

/* n samples into every filter and the block's energy. Per lane, the very operations
   of spandsp's goertzel_update in its order: v3 = (fac * v2 + x) - v1 (the 0.0.6
   library adds the sample before it takes v1 off, though its source writes them the
   other way round). The energy is summed one sample after another, as super_tone_rx
   does: another order would round differently, and a block at the threshold could go
   the other way. */
static inline __attribute__((always_inline)) void filter(tonerx_t *s, const int16_t *amp, int n, int nvec)
{
    v4sf fac[VECS], v2[VECS], v3[VECS];
    float energy = s->energy;

    memcpy(fac, s->fac, nvec * sizeof(v4sf));
    memcpy(v2, s->v2, nvec * sizeof(v4sf));
    memcpy(v3, s->v3, nvec * sizeof(v4sf));
    for (int i = 0; i < n; i++)
    {
        float x = amp[i];
        v4sf xs = {x, x, x, x};

        for (int k = 0; k < nvec; k++)
        {
            v4sf v1 = v2[k];

            v2[k] = v3[k];
            v3[k] = (fac[k] * v2[k] + xs) - v1;
        }
        energy += x * x;
    }
    memcpy(s->v2, v2, nvec * sizeof(v4sf));
    memcpy(s->v3, v3, nvec * sizeof(v4sf));
    s->energy = energy;
}

/* Each filter's power over the block, as spandsp's goertzel_result: one more step with
   no input, then v3^2 + v2^2 - (fac * v2) * v3, doubled. The filters start again. */
static void results(tonerx_t *s, float *res, int nvec)
{
    for (int k = 0; k < nvec; k++)
    {
        v4sf fac, v2, v3, p, w, r;

        memcpy(&fac, &s->fac[k * LANES], sizeof(fac));
        memcpy(&v2, &s->v2[k * LANES], sizeof(v2));
        memcpy(&v3, &s->v3[k * LANES], sizeof(v3));
        p = fac * v3;
        w = p - v2;
        r = (w * w + v3 * v3) - p * w;
        r = r + r;
        memcpy(&res[k * LANES], &r, sizeof(r));
    }
    memset(s->v2, 0, nvec * sizeof(v4sf));
    memset(s->v3, 0, nvec * sizeof(v4sf));
}

/* The block's result: its two strongest frequencies if they are a tone (header). */
static void classify(const tonerx_t *s, int *f1, int *f2)
{
    const float *res = s->power;
    int k1;
    int k2;

    *f1 = -1;
    *f2 = -1;
    if (s->energy < DETECTION_THRESHOLD)
        return;
    if (res[0] > res[1])
    {
        k1 = 0;
        k2 = 1;
    }
    else
    {
        k1 = 1;
        k2 = 0;
    }
    for (int j = 2; j < s->nfreqs; j++)
    {
        if (res[j] >= res[k1])
        {
            k2 = k1;
            k1 = j;
        }
        else if (res[j] >= res[k2])
        {
            k2 = j;
        }
    }
    if (res[k1] + res[k2] < TONE_TO_TOTAL * s->energy)
        return;
    if (res[k1] > TWIST * res[k2])
    {
        *f1 = k1;
        return;
    }
    *f1 = (k1 < k2) ? k1 : k2;
    *f2 = (k1 < k2) ? k2 : k1;
}

/* A segment's length in samples, for the steps' limits; wraps as super_tone_rx's
   does, after some 74 hours. */
static int samples(int blocks)
{
    return (int) ((unsigned) blocks * TONERX_BLOCK);
}

static int fits(const tonerx_step_t *st, const tonerx_segment_t *g)
{
    return st->f1 == g->f1 && st->f2 == g->f2 && st->min <= samples(g->blocks) && samples(g->blocks) <= st->max;
}

/* Whether the tone's whole pattern matches the last segments. */
static int starts(const tonerx_t *s, int tone)
{
    const tonerx_step_t *p = &s->step[s->first[tone]];
    int n = s->nsteps[tone];

    if (n < 1 || n > TONERX_SEGMENTS)
        return 0;
    for (int i = 0; i < n; i++)
    {
        if (!fits(&p[i], &s->seg[TONERX_SEGMENTS - n + i]))
            return 0;
    }
    return 1;
}

/* Whether the tone goes on: the segment in progress is the step due after `rotation`
   completed ones, not yet too long; when one has just ended (`ended`), it too was its
   step, long enough and not too long. */
static int lasts(const tonerx_t *s, int tone, int rotation, int ended)
{
    const tonerx_step_t *p = &s->step[s->first[tone]];
    int n = s->nsteps[tone];
    const tonerx_step_t *now = &p[(rotation + n - 1) % n];
    const tonerx_segment_t *g = &s->seg[TONERX_SEGMENTS - 1];

    if (ended && !fits(&p[(rotation + n - 2) % n], &s->seg[TONERX_SEGMENTS - 2]))
        return 0;
    return now->f1 == g->f1 && now->f2 == g->f2 && now->max >= samples(g->blocks);
}

static void lost(tonerx_t *s)
{
    s->detected = -1;
    s->tone(s->user, -1);
}

/* A block is complete. The callbacks may restart the receiver, so the state is read
   again after each one and changed in super_tone_rx's order. */
static void block_done(tonerx_t *s, int nvec)
{
    tonerx_segment_t *now = &s->seg[TONERX_SEGMENTS - 1];
    int f1;
    int f2;

    results(s, s->power, nvec);
    /* With one frequency super_tone_rx still ranks a second: newer spandsp reads 0 for
       it, 0.0.6 whatever its stack holds. */
    if (s->nfreqs < 2)
        s->power[1] = 0.0f;
    classify(s, &f1, &f2);
    if (f1 != s->last_f1 || f2 != s->last_f2)
    {
        /* Seen once: maybe a glitch, and the block counts to the segment in progress. */
        s->last_f1 = f1;
        s->last_f2 = f2;
        now->blocks++;
    }
    else if (f1 != now->f1 || f2 != now->f2)
    {
        /* Seen twice: a new segment. */
        if (s->detected >= 0 && !lasts(s, s->detected, s->rotation++, 1))
            lost(s);
        if (s->segment)
            s->segment(s->user, now->f1, now->f2, (int) ((unsigned) now->blocks * (TONERX_BLOCK / 8)));
        memmove(&s->seg[0], &s->seg[1], (TONERX_SEGMENTS - 1) * sizeof(s->seg[0]));
        now->f1 = f1;
        now->f2 = f2;
        now->blocks = 1;
    }
    else
    {
        if (s->detected >= 0 && !lasts(s, s->detected, s->rotation, 0))
            lost(s);
        now->blocks++;
    }
    if (s->detected < 0)
    {
        for (int t = 0; t < s->ntones; t++)
        {
            if (starts(s, t))
            {
                s->detected = t;
                s->rotation = 0;
                s->tone(s->user, t);
                break;
            }
        }
    }
    s->energy = 0.0f;
}

static void run(tonerx_t *s, const int16_t *amp, int n, int nvec)
{
    while (n > 0)
    {
        int take = TONERX_BLOCK - s->fill;

        if (take > n)
            take = n;
        /* The common cases with their vectors in registers. */
        if (nvec == 1)
            filter(s, amp, take, 1);
        else if (nvec == 2)
            filter(s, amp, take, 2);
        else
            filter(s, amp, take, nvec);
        amp += take;
        n -= take;
        s->fill += take;
        if (s->fill == TONERX_BLOCK)
        {
            s->fill = 0;
            block_done(s, nvec);
        }
    }
}

int tonerx_rx(tonerx_t *s, const int16_t *amp, int n)
{
    run(s, amp, n, (s->nfreqs + LANES - 1) / LANES);
    return n;
}
