#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "supervise.h"

/* What a cadence must sound like to end a call (see supervise.h): an exchange's tone
   keeps its level to a fraction of a dB and its steps to a few ms; 3 dB and two
   blocks leave room for the line's noise and for the block in which a step changes. */
#define LEVEL_SPREAD 2.0f       /* 3 dB between the loudest and the quietest burst */
#define SILENCE_BELOW 15.85f    /* silence: 12 dB under the quietest burst */
#define JITTER_BLOCKS 2

/* Detected tones, in order of how much they matter to a call. */
static const int detected[] = {TONE_BUSY, TONE_CONGESTION, TONE_RINGBACK, TONE_DIAL};
#define NDETECTED ((int) (sizeof(detected) / sizeof(detected[0])))

/* The receiver has room for all supervise_init asks, whatever the plan: the registering
   pattern (one step for each frequency of the detected tones, and the two guards), then
   each detected tone for up to SUPERVISE_MAX_CYCLES cycles. */
_Static_assert(2 * TONE_MAX_STEPS * NDETECTED + 2 <= TONERX_MAX_FREQS, "frequencies");
_Static_assert(2 * TONE_MAX_STEPS * NDETECTED + 2 + NDETECTED * SUPERVISE_MAX_CYCLES * TONE_MAX_STEPS
               <= TONERX_MAX_STEPS, "steps");
_Static_assert(1 + NDETECTED <= TONERX_MAX_TONES, "tones");

static int lo(int ms)
{
    int v = ms - ms * 15 / 100 - 40;
    return v < 20 ? 20 : v;
}

static int hi(int ms)
{
    return ms + ms * 15 / 100 + 40;
}

static int low(const tone_step_t *st)
{
    return (st->f2 && st->f2 < st->f1) ? st->f2 : st->f1;
}

static int high(const tone_step_t *st)
{
    return (st->f2 && st->f2 < st->f1) ? st->f1 : st->f2;
}

static void add_pattern(supervise_t *s, const tone_def_t *t, int id, int cycles)
{
    int idx = tonerx_add_tone(&s->rx);

    if (idx < 0 || idx >= TONE_COUNT)
        return;
    s->tone_of[idx] = id;
    s->ntones = idx + 1;
    if (t->nsteps == 1 && t->step[0].ms == 0)
    {
        /* Continuous tone: long enough that no cadenced tone's burst passes for it. */
        tonerx_add_element(&s->rx, idx, low(&t->step[0]), high(&t->step[0]), 1500, 0);
        return;
    }
    if (id == TONE_RINGBACK)
        cycles = 1;
    s->cycles_of[id] = cycles;
    for (int c = 0; c < cycles; c++)
    {
        for (int k = 0; k < t->nsteps; k++)
        {
            const tone_step_t *st = &t->step[k];
            tonerx_add_element(&s->rx, idx, low(st), high(st), lo(st->ms), hi(st->ms));
        }
    }
}

/* The receiver numbers frequencies in the order they are first added, and reports
   the two strongest with the lower number first (both as super_tone_rx does); a
   pattern whose pair is numbered the other way round never matches. So every
   frequency of the plan is added first, in ascending order, and patterns name theirs
   low-high.
   It also ranks two results even when only one frequency is monitored, as in the
   425 Hz plans: guard frequencies give it real ones, and make speech, whose energy
   spreads over them, less like a call-progress tone. The registering pattern can
   never match: its elements last an hour. */
static void register_frequencies(supervise_t *s, const tone_plan_t *plan)
{
    int freqs[2 * TONE_MAX_STEPS * TONE_COUNT + 2];
    int n = 0;
    int idx = tonerx_add_tone(&s->rx);

    freqs[n++] = 1000;
    freqs[n++] = 1600;
    for (unsigned i = 0; i < sizeof(detected) / sizeof(detected[0]); i++)
    {
        const tone_def_t *t = &plan->tone[detected[i]];
        for (int k = 0; k < t->nsteps; k++)
        {
            if (t->step[k].f1)
                freqs[n++] = t->step[k].f1;
            if (t->step[k].f2)
                freqs[n++] = t->step[k].f2;
        }
    }
    for (int i = 1; i < n; i++)
    {
        for (int j = i; j > 0 && freqs[j - 1] > freqs[j]; j--)
        {
            int tmp = freqs[j];
            freqs[j] = freqs[j - 1];
            freqs[j - 1] = tmp;
        }
    }
    s->tone_of[idx] = TONE_NONE;
    s->ntones = idx + 1;
    for (int i = 0; i < n; i++)
    {
        if (i == 0 || freqs[i] != freqs[i - 1])
            tonerx_add_element(&s->rx, idx, freqs[i], 0, 3600000, 3600000);
    }
}

/* Energy of blocks first..last (numbers), clipped to what the ring still holds. */
static void measure(const supervise_t *s, int64_t first, int64_t last, float *mean, float *max)
{
    float sum = 0.0f;
    float top = 0.0f;
    int n = 0;

    if (first < s->nblock - SUPERVISE_HISTORY + 1)
        first = s->nblock - SUPERVISE_HISTORY + 1;
    for (int64_t b = first; b <= last; b++)
    {
        float e = s->energy[b % SUPERVISE_HISTORY];
        sum += e;
        top = e > top ? e : top;
        n++;
    }
    *mean = n ? sum / n : 0.0f;
    *max = top;
}

/* The segment counted from block `from` to block `to`: the receiver counts the block
   that first shows a change into the old segment, so its sound ran from from-1 to
   to-1. The blocks at either edge may straddle the change and are left out. */
static supervise_segment_t make_segment(const supervise_t *s, int tone, int64_t from, int64_t to)
{
    supervise_segment_t g;
    int64_t first = from - 1;
    int64_t last = to - 1;

    if (last - first >= 2)
    {
        first++;
        last--;
    }
    g.tone = tone;
    g.blocks = (int) (to - from + 1);
    measure(s, first < 0 ? 0 : first, last, &g.mean, &g.max);
    return g;
}

/* Whether the segments (n of them) sound like an exchange's cadenced tone: bursts of
   one level, silences that are silent. */
static int regular(const supervise_segment_t *w, int n)
{
    float quietest = 0.0f;
    float loudest = 0.0f;
    int bursts = 0;
    int silences = 0;

    for (int i = 0; i < n; i++)
    {
        if (!w[i].tone)
            continue;
        quietest = (bursts == 0 || w[i].mean < quietest) ? w[i].mean : quietest;
        loudest = (bursts == 0 || w[i].mean > loudest) ? w[i].mean : loudest;
        bursts++;
    }
    if (bursts == 0 || loudest > quietest * LEVEL_SPREAD)
        return 0;
    for (int i = 0; i < n; i++)
    {
        if (w[i].tone)
            continue;
        if (w[i].max * SILENCE_BELOW > quietest)
            return 0;
        silences++;
    }
    return silences > 0;
}

/* Whether the candidate tone, matched by the receiver, is confirmed by the segments
   heard so far; `ongoing` counts the segment in progress (which the receiver matched
   as the pattern's last step once it was long enough). */
static int confirmed(supervise_t *s, int tone, int ongoing)
{
    const tone_def_t *t = &s->plan->tone[tone];
    int need = s->cycles_of[tone] * t->nsteps;
    supervise_segment_t w[SUPERVISE_SEGMENTS];
    int done = ongoing ? need - 1 : need;

    if (done > s->nseg || need > SUPERVISE_SEGMENTS)
        return 0;
    memcpy(w, &s->seg[s->nseg - done], done * sizeof(w[0]));
    /* Each complete step lasts as long as the same step a cycle before. */
    for (int i = t->nsteps; i < done; i++)
    {
        if (abs(w[i].blocks - w[i - t->nsteps].blocks) > JITTER_BLOCKS)
            return 0;
    }
    if (ongoing)
        w[done] = make_segment(s, 0, s->seg_start, s->nblock);
    return regular(w, need);
}

static void tone_report(void *user, int code)
{
    supervise_t *s = (supervise_t *) user;
    int tone = (code >= 0 && code < s->ntones) ? s->tone_of[code] : TONE_NONE;

    if (tone == TONE_BUSY || tone == TONE_CONGESTION)
    {
        s->candidate = tone;
        if (!confirmed(s, tone, 1))
            return;
        s->candidate = TONE_NONE;
    }
    if (tone != TONE_NONE)
    {
        s->current = tone;
        s->report(s->user, tone, 1);
    }
    else
    {
        s->candidate = TONE_NONE;
        if (s->current != TONE_NONE)
        {
            int was = s->current;
            s->current = TONE_NONE;
            s->report(s->user, was, 0);
        }
    }
}

/* The receiver closes a segment: keep it, and see whether a candidate it matched
   earlier now looks right. */
static void segment_report(void *user, int f1, int f2, int ms)
{
    supervise_t *s = (supervise_t *) user;

    (void) f2;
    (void) ms;
    if (s->nseg == SUPERVISE_SEGMENTS)
    {
        memmove(&s->seg[0], &s->seg[1], (SUPERVISE_SEGMENTS - 1) * sizeof(s->seg[0]));
        s->nseg--;
    }
    s->seg[s->nseg++] = make_segment(s, f1 >= 0, s->seg_start, s->nblock - 1);
    s->seg_start = s->nblock;
    if (s->candidate != TONE_NONE && s->current == TONE_NONE && confirmed(s, s->candidate, 0))
    {
        s->current = s->candidate;
        s->candidate = TONE_NONE;
        s->report(s->user, s->current, 1);
    }
}

static void start(supervise_t *s)
{
    tonerx_restart(&s->rx);
    s->current = TONE_NONE;
    s->candidate = TONE_NONE;
    s->fill = 0;
    s->nblock = 0;
    s->seg_start = 0;
    s->nseg = 0;
    s->loud = 0.0f;
    s->loud_at = 0;
    memset(s->energy, 0, sizeof(s->energy));
}

supervise_t *supervise_init(supervise_t *s, const tone_plan_t *plan, int cycles,
                            supervise_report_func_t report, void *user)
{
    if (cycles < 1 || cycles > SUPERVISE_MAX_CYCLES || plan == NULL || report == NULL)
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
    s->report = report;
    s->user = user;
    s->plan = plan;
    tonerx_init(&s->rx, tone_report, segment_report, s);
    register_frequencies(s, plan);
    /* Congestion's cadence is about twice as fast as busy's: twice the cycles take
       about as long to hear and are as hard for music to imitate. */
    for (unsigned i = 0; i < sizeof(detected) / sizeof(detected[0]); i++)
    {
        int id = detected[i];
        int n = (id == TONE_CONGESTION) ? 2 * cycles : cycles;
        add_pattern(s, &plan->tone[id], id, n > SUPERVISE_MAX_CYCLES ? SUPERVISE_MAX_CYCLES : n);
    }
    start(s);
    return s;
}

int supervise_release(supervise_t *s)
{
    return tonerx_release(&s->rx);
}

int supervise_free(supervise_t *s)
{
    if (s == NULL)
        return 0;
    supervise_release(s);
    free(s);
    return 0;
}

/* Four sums in flight: the additions do not wait on each other. */
static float block_energy(const int16_t *a)
{
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;

    for (int i = 0; i < SUPERVISE_BLOCK; i += 4)
    {
        float a0 = a[i], a1 = a[i + 1], a2 = a[i + 2], a3 = a[i + 3];

        s0 += a0 * a0;
        s1 += a1 * a1;
        s2 += a2 * a2;
        s3 += a3 * a3;
    }
    return ((s0 + s1) + (s2 + s3)) / SUPERVISE_BLOCK;
}

/* One block to the receiver, with its energy noted. */
static void block(supervise_t *s, const int16_t *blk)
{
    static const int16_t silence[SUPERVISE_BLOCK];
    float e = block_energy(blk);

    s->energy[s->nblock % SUPERVISE_HISTORY] = e;
    /* The loudest block of the last second, looked for again only when it leaves it. */
    if (e >= s->loud)
    {
        s->loud = e;
        s->loud_at = s->nblock;
    }
    else if (s->nblock - s->loud_at >= SUPERVISE_HISTORY)
    {
        s->loud = 0.0f;
        for (int64_t b = s->nblock - SUPERVISE_HISTORY + 1; b <= s->nblock; b++)
        {
            if (s->energy[b % SUPERVISE_HISTORY] >= s->loud)
            {
                s->loud = s->energy[b % SUPERVISE_HISTORY];
                s->loud_at = b;
            }
        }
    }
    /* A block 12 dB under the loudest of the last second reaches the receiver as
       silence, as a busy tone's silences are silent by the rule above. It finishes
       its block inside this call, so the callbacks see nblock as this block's
       number. */
    tonerx_rx(&s->rx, e * SILENCE_BELOW < s->loud ? silence : blk, SUPERVISE_BLOCK);
    s->nblock++;
}

void supervise_rx(supervise_t *s, const int16_t *amp, int n)
{
    while (n > 0)
    {
        int take;

        if (s->fill == 0 && n >= SUPERVISE_BLOCK)
        {
            block(s, amp);
            amp += SUPERVISE_BLOCK;
            n -= SUPERVISE_BLOCK;
            continue;
        }
        take = SUPERVISE_BLOCK - s->fill;
        if (take > n)
            take = n;
        memcpy(s->block + s->fill, amp, take * sizeof(int16_t));
        s->fill += take;
        amp += take;
        n -= take;
        if (s->fill == SUPERVISE_BLOCK)
        {
            s->fill = 0;
            block(s, s->block);
        }
    }
}

void supervise_reset(supervise_t *s)
{
    /* The detector only hears connected calls, so without this the end of one call's
       cadence would run on into the next call's first sounds. */
    start(s);
}
