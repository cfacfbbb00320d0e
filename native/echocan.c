#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "echocan.h"

/* Four floats a step, in two independent sums so the additions overlap: GCC lowers
   this to SSE on any x86-64 (and NEON on ARM), to scalar code where there is no SIMD.
   may_alias and 4-byte alignment because the arrays are plain floats read at any
   offset. */
typedef float v4sf __attribute__((vector_size(16), may_alias, aligned(4)));
typedef int32_t v4si __attribute__((vector_size(16)));
/* The filters run eight floats a step: two SSE instructions on any x86-64, one where the
   processor has AVX2, which the loader picks at start (GCC's function clones; each
   clone adds in the same order, so both give the same samples). */
typedef float v8sf __attribute__((vector_size(32), may_alias, aligned(4)));
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WIDE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WIDE_CLONES
#endif

/* Blocks are handled in pieces of at most this many samples (the board's frame). */
#define CHUNK FRAME_SAMPLES
/* Decisions are made per 5 ms stretch: short enough to take over a converged
   background within a syllable, long enough for stable energies. */
#define STRETCH 40
/* The background must beat the foreground by 3 dB, and cancel at least 6 dB of what
   came in, for three stretches in a row before the output takes its coefficients. */
#define TAKE_OVER_STRETCHES 3
/* A background 6 dB worse than the foreground for this long has been thrown off by
   double talk; it restarts from the foreground rather than finding its way back. */
#define RESTART_STRETCHES 10
/* Half a second of sending without the background finding better: converged. */
#define SETTLE_STRETCHES 100
/* Resting, three blocks (60 ms) in a row 6 dB worse than when it settled, and 9 dB
   above the line's noise floor, wake it: a quiet stretch of the prompt leaves only
   the line's noise, whose ratio to the input says nothing about the echo. */
#define WAKE_BLOCKS 3
#define WAKE_ABOVE_FLOOR 8.0f
/* The floor follows the quietest output down at once and creeps up 0.2 dB a block. */
#define FLOOR_RISE 1.047f
/* While resting, the whole tail is searched again after 30 s of sending. */
#define RESEARCH_SAMPLES (30 * SAMPLE_RATE)
/* NLMS step: fast (a few hundred samples to converge on a real hybrid) at the price
   of some misadjustment, which the foreground never sees. */
#define MU 0.25f
/* Adaptation waits for a reference above about -55 dBm0 on average: below, the
   line's own noise would teach the filter nothing but noise. */
#define MIN_MEAN_POWER 40.0f
/* The step is also held back by the line's noise: a reference of the noise's power
   over the tail scales each step by 1/5. NLMS divides by the reference's power, so in
   a prompt's quiet parts the noise on the line would otherwise move the coefficients
   as much as the echo does: measured on speech over a -50 dBm0 line, this gives 3 to
   5 dB more cancelling and coefficients off the echo 8 dB quieter. The noise is the
   quietest a stretch came in lately: it follows down at once and rises 0.05 dB a
   stretch. */
#define NOISE_REGULARISE 4.0f
#define LINE_NOISE_RISE 1.0116f
/* Geigel's double-talk test: what comes in louder than half the loudest the box sent
   within the tail cannot be its echo (a hybrid returns at least 6 dB less), so the
   caller is talking and the background holds still for 30 ms after. Without it a
   background adapting on a loud caller over a quiet prompt learns to mimic the
   caller's tone, wins the comparison, and the output takes nonsense from it. */
#define GEIGEL 0.5f
#define HANGOVER 240
/* Geigel's test misses a far end quieter than the box's loudest, such as an exchange's
   busy tone under a prompt: adapting on it throws the background off, and its silences
   then hold the prompt's echo uncancelled. Once the filter has shown it knows the echo
   (it came to rest cancelling 12 dB or more), a stretch whose output keeps more than a
   quarter (-6 dB) of the echo the foreground expects, beyond the line's noise, holds
   something that is not echo: the far end talks too, and the background holds still
   for it and 30 ms after. Longer than an exchange's tone burst (750 ms in a row) it is
   rather an echo path that changed, and the filter adapts again. */
#define TRUSTED_RATIO (1.0f / 16.0f)
#define NOT_ECHO 0.25f
#define NOISE_MARGIN 4.0f
#define DISTRUST_STRETCHES 150
#define NEAR_HANGOVER 6
#define PEAK_RING (ECHOCAN_MAX_TAPS / STRETCH + 2)
/* Nor does the output take anything from a stretch received below -60 dBm0: there is
   no echo worth cancelling, and a filter fitted to the codec's idle offset or the
   line's hiss only adds noise. */
#define MIN_ECHO_POWER 260.0f
/* Taps below 1/32 (-30 dB) of the strongest, or within the coefficients' own noise
   (six times their median size, about four standard deviations of a Gaussian), and
   more than 8 taps from any that is not, are left out of the resting filter. Without
   the second rule a noisy line spreads stray taps over the whole tail and the window
   is never smaller than the tail. The second rule holds only where the echo stands
   out of that noise, a quarter of the strongest tap or more: a filter learnt on one
   tone (ringback) spreads over the tail in a wave with no such peak, and cutting it
   would cancel the tone no more. */
#define WINDOW_FLOOR (1.0f / 32.0f)
#define WINDOW_NOISE 6.0f
#define WINDOW_PEAKY (1.0f / 4.0f)
#define WINDOW_MARGIN 8

/* Coefficients are stored reversed: fg[j] weights the sample taps-1-j samples old, so
   that for sample i of a piece the window is x[i + 1 .. i + taps] in order. */
struct echocan_s
{
    int taps;
    int capacity;
    int jlo, jhi;       /* the taps in use, [jlo, jhi) in stored order, multiples of 8 */
    int resting;
    int64_t xpow;       /* sum of squares of the reference over the tail, exact */
    float *fg;          /* foreground coefficients */
    float *bg;          /* background coefficients */
    float *x;           /* taps of history, then the piece being worked on */
    v8sf *cb;           /* resting: the window's coefficients, each in all eight lanes */
    int better;         /* stretches in a row the background won */
    int worse;          /* stretches in a row the background lost badly */
    int harmful;        /* stretches in a row the output was 3 dB above the input */
    int hold;           /* samples the background still holds still for double talk */
    int talked;         /* double talk in this stretch: it proves nothing */
    int trusted;        /* the foreground has cancelled the echo well: its estimate can judge */
    int near;           /* stretches the background still holds still for the far end */
    int near_run;       /* stretches in a row that held more than echo */
    float peak[PEAK_RING];  /* the reference's peaks, a stretch each, over the tail */
    int npeaks, peak_at, peak_n;
    float peak_now, peak_tail;
    int settled;        /* stretches of sending since the background last won */
    int in_stretch;
    float e_fg, e_bg, e_in, e_y;
    float settled_fg, settled_in;   /* energies over the settling stretches */
    float rest_ratio;   /* output over input energy when it came to rest */
    int poor;           /* blocks in a row the resting filter did 6 dB worse */
    float floor;        /* the output's quietest mean power lately: the line's noise */
    float line_noise;   /* adapting: the input's quietest mean power a stretch lately */
    int32_t rested;     /* samples sent since it came to rest */
    int xpow_stale;     /* xpow must be recounted from the history */
};

static void *aligned(size_t n)
{
    void *p = NULL;

    return posix_memalign(&p, 32, n) == 0 ? p : NULL;
}

echocan_t *echocan_init(echocan_t *s, int taps)
{
    if (taps < ECHOCAN_MIN_TAPS || taps > ECHOCAN_MAX_TAPS || taps % 8 != 0)
        return NULL;
    if (s == NULL)
    {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
        s->fg = aligned(taps * sizeof(float));
        s->bg = aligned(taps * sizeof(float));
        s->x = aligned((taps + CHUNK) * sizeof(float));
        s->cb = aligned(taps * sizeof(v8sf));
        if (s->fg == NULL || s->bg == NULL || s->x == NULL || s->cb == NULL)
        {
            echocan_free(s);
            return NULL;
        }
        s->capacity = taps;
    }
    else if (taps > s->capacity)
    {
        return NULL;
    }
    s->taps = taps;
    echocan_reset(s);
    return s;
}

int echocan_release(echocan_t *s)
{
    free(s->fg);
    free(s->bg);
    free(s->x);
    free(s->cb);
    s->fg = s->bg = s->x = NULL;
    s->cb = NULL;
    return 0;
}

int echocan_free(echocan_t *s)
{
    if (s == NULL)
        return 0;
    echocan_release(s);
    free(s);
    return 0;
}

static void stretch_clear(echocan_t *s)
{
    s->in_stretch = 0;
    s->talked = 0;
    s->e_fg = s->e_bg = s->e_in = s->e_y = 0.0f;
}

/* Adapting again, along the whole tail. */
static void wake(echocan_t *s)
{
    s->resting = 0;
    s->jlo = 0;
    s->jhi = s->taps;
    memcpy(s->bg, s->fg, s->taps * sizeof(float));
    s->better = s->worse = s->settled = s->harmful = 0;
    s->hold = s->talked = s->near = s->near_run = 0;
    memset(s->peak, 0, sizeof(s->peak));
    s->npeaks = s->taps / STRETCH + 1;
    s->peak_at = s->peak_n = 0;
    s->peak_now = s->peak_tail = 0.0f;
    s->settled_fg = s->settled_in = 0.0f;
    stretch_clear(s);
}

void echocan_reset(echocan_t *s)
{
    memset(s->fg, 0, s->taps * sizeof(float));
    memset(s->x, 0, (s->taps + CHUNK) * sizeof(float));
    s->xpow = 0;
    s->xpow_stale = 0;
    s->trusted = 0;
    s->floor = 1e12f;
    s->line_noise = -1.0f;     /* the first stretch judged sets it */
    wake(s);
}

int echocan_taps(const echocan_t *s)
{
    return s->taps;
}

int echocan_taps_in_use(const echocan_t *s)
{
    return s->resting ? s->jhi - s->jlo : s->taps;
}

/* By pointer: a 32-byte vector passed by value draws GCC's note on the AVX calling
   convention in the baseline build. */
static inline float lanes_sum(const v8sf *v)
{
    return (((*v)[0] + (*v)[4]) + ((*v)[1] + (*v)[5])) + (((*v)[2] + (*v)[6]) + ((*v)[3] + (*v)[7]));
}

/* Both filters' outputs for one sample: they share the history loads. */
static inline void dot2(const float *fg, const float *bg, const float *x, int n, float *yf, float *yb)
{
    v8sf f = {0}, b = {0};

    for (int k = 0; k < n; k += 8)
    {
        v8sf xv = *(const v8sf *) (x + k);

        f += *(const v8sf *) (fg + k) * xv;
        b += *(const v8sf *) (bg + k) * xv;
    }
    *yf = lanes_sum(&f);
    *yb = lanes_sum(&b);
}

static inline void step(float *w, const float *x, float g, int n)
{
    v8sf gv = {g, g, g, g, g, g, g, g};

    for (int k = 0; k < n; k += 8)
        *(v8sf *) (w + k) += gv * *(const v8sf *) (x + k);
}

/* Rounded to nearest and clipped, without branches the compiler cannot turn into
   min, max and a conversion. */
static inline int16_t saturate(float v)
{
    v = v > 32767.0f ? 32767.0f : v;
    v = v < -32768.0f ? -32768.0f : v;
    return (int16_t) (int32_t) (v + (v < 0.0f ? -0.5f : 0.5f));
}

static int by_size(const void *a, const void *b)
{
    const float x = *(const float *) a, y = *(const float *) b;

    return (x > y) - (x < y);
}

/* The median of the coefficients' sizes, once per rest; scratch holds n floats. */
static float median_size(const float *c, int n, float *scratch)
{
    for (int j = 0; j < n; j++)
        scratch[j] = c[j] > 0.0f ? c[j] : -c[j];
    qsort(scratch, n, sizeof(float), by_size);
    return scratch[n / 2];
}

/* Converged: keep the taps that hold the echo, rest on them. */
static void come_to_rest(echocan_t *s)
{
    float peak = 0.0f, peak_floor;
    int first = -1, last = -1;

    s->rest_ratio = (s->settled_in > 0.0f) ? s->settled_fg / s->settled_in : 1.0f;
    if (s->rest_ratio <= TRUSTED_RATIO)
        s->trusted = 1;
    if (s->rest_ratio > 1.0f)
    {
        /* It did more harm than good: rest with no filter at all. */
        memset(s->fg, 0, s->taps * sizeof(float));
        s->rest_ratio = 1.0f;
    }
    for (int j = 0; j < s->taps; j++)
        if (s->fg[j] > peak || -s->fg[j] > peak)
            peak = s->fg[j] > 0.0f ? s->fg[j] : -s->fg[j];
    {
        const float noise = WINDOW_NOISE * median_size(s->fg, s->taps, (float *) s->cb);

        if (noise > peak * WINDOW_FLOOR && noise < peak * WINDOW_PEAKY)
            peak_floor = noise;
        else
            peak_floor = peak * WINDOW_FLOOR;
    }
    for (int j = 0; j < s->taps; j++)
    {
        float a = s->fg[j] > 0.0f ? s->fg[j] : -s->fg[j];

        if (peak > 0.0f && a >= peak_floor)
        {
            if (first < 0)
                first = j;
            last = j;
        }
    }
    if (first < 0)
    {
        /* No echo on this line: nothing to filter while resting. */
        s->jlo = s->jhi = 0;
        memset(s->fg, 0, s->taps * sizeof(float));
    }
    else
    {
        s->jlo = (first - WINDOW_MARGIN > 0) ? ((first - WINDOW_MARGIN) & ~7) : 0;
        s->jhi = (last + 1 + WINDOW_MARGIN + 7) & ~7;
        if (s->jhi > s->taps)
            s->jhi = s->taps;
        memset(s->fg, 0, s->jlo * sizeof(float));
        memset(s->fg + s->jhi, 0, (s->taps - s->jhi) * sizeof(float));
    }
    for (int j = s->jlo; j < s->jhi; j++)
    {
        const float c = s->fg[j];

        s->cb[j - s->jlo] = (v8sf) {c, c, c, c, c, c, c, c};
    }
    s->resting = 1;
    s->poor = 0;
    s->rested = 0;
    s->floor = 1e12f;
}

/* At the end of each stretch: which filter cancels better, and what follows. */
static void judge(echocan_t *s)
{
    {
        const float in = s->e_in / STRETCH;

        /* The step up of one keeps a floor of nothing (a line without noise) able to rise. */
        s->line_noise = (in < s->line_noise || s->line_noise < 0.0f) ? in : s->line_noise * LINE_NOISE_RISE + 1.0f;
    }
    if (s->trusted && s->e_fg > NOT_ECHO * s->e_y + NOISE_MARGIN * s->floor * STRETCH)
    {
        s->near = NEAR_HANGOVER + 1;
        if (++s->near_run >= DISTRUST_STRETCHES)
            s->trusted = s->near = s->near_run = 0;
    }
    else
    {
        s->near_run = 0;
    }
    if (s->near > 0)
    {
        s->near--;
        s->talked = 1;
    }
    if (s->talked || s->e_in < MIN_ECHO_POWER * STRETCH)
    {
        /* Double talk, or too little came in to tell one filter from another. */
        s->better = 0;
        stretch_clear(s);
        return;
    }
    if (s->e_fg > 2.0f * s->e_in && ++s->harmful >= RESTART_STRETCHES)
    {
        /* The output is worse than no cancelling at all: start again from nothing. */
        memset(s->fg, 0, s->taps * sizeof(float));
        memset(s->bg, 0, s->taps * sizeof(float));
        s->harmful = 0;
    }
    else if (s->e_fg <= 2.0f * s->e_in)
    {
        s->harmful = 0;
    }
    if (s->e_bg < 0.5f * s->e_fg && s->e_bg < s->e_in)
    {
        s->worse = 0;
        s->settled = 0;
        s->settled_fg = s->settled_in = 0.0f;
        if (++s->better >= TAKE_OVER_STRETCHES)
        {
            memcpy(s->fg + s->jlo, s->bg + s->jlo, (s->jhi - s->jlo) * sizeof(float));
            s->better = 0;
        }
    }
    else
    {
        s->better = 0;
        if (s->e_bg > 4.0f * s->e_fg && s->e_fg < 0.25f * s->e_in)
        {
            if (++s->worse >= RESTART_STRETCHES)
            {
                memcpy(s->bg + s->jlo, s->fg + s->jlo, (s->jhi - s->jlo) * sizeof(float));
                s->worse = 0;
            }
        }
        else
        {
            s->worse = 0;
        }
        s->settled_fg += s->e_fg;
        s->settled_in += s->e_in;
        if (++s->settled >= SETTLE_STRETCHES)
            come_to_rest(s);
    }
    stretch_clear(s);
}

/* Resting: the foreground alone over its window, a block at a time, watched. The
   reference's power over the tail is not kept up meanwhile; adapt() recounts it. */
WIDE_CLONES static void rest(echocan_t *s, int16_t *rx, int from, int n)
{
    const int taps = s->taps, jlo = s->jlo, w = s->jhi - s->jlo;
    /* Whole blocks of 32 outputs: four sums of eight in flight hide the additions' latency. */
    const int n32 = (n + 31) & ~31;
    float y[CHUNK] __attribute__((aligned(16)));
    float ref = 0.0f, e_fg = 0.0f, e_in = 0.0f;

    s->xpow_stale = 1;
    {
        v4sf sum = {0};
        int i = from;

        for (; i + 4 <= n; i += 4)
            sum += *(const v4sf *) (s->x + taps + i) * *(const v4sf *) (s->x + taps + i);
        for (; i < n; i++)
            ref += s->x[taps + i] * s->x[taps + i];
        ref += (sum[0] + sum[1]) + (sum[2] + sum[3]);
    }
    if (ref > 0.0f)
        s->rested += n - from;
    if (w > 0)
    {
        /* The few samples before `from` were done by adapt(); they are not used. */
        for (int i = 0; i < n32; i += 32)
        {
            const float *xs = s->x + i + 1 + jlo;
            v8sf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};

            for (int j = 0; j < w; j++)
            {
                const v8sf c = s->cb[j];
                const float *xj = xs + j;

                a0 += c * *(const v8sf *) (xj);
                a1 += c * *(const v8sf *) (xj + 8);
                a2 += c * *(const v8sf *) (xj + 16);
                a3 += c * *(const v8sf *) (xj + 24);
            }
            *(v8sf *) (y + i) = a0;
            *(v8sf *) (y + i + 8) = a1;
            *(v8sf *) (y + i + 16) = a2;
            *(v8sf *) (y + i + 24) = a3;
        }
        {
            /* Four at a time, with four-lane sums, for what adapt() left. */
            const v4sf top = {32767.0f, 32767.0f, 32767.0f, 32767.0f};
            const v4sf bottom = {-32768.0f, -32768.0f, -32768.0f, -32768.0f};
            const v4sf half = {0.5f, 0.5f, 0.5f, 0.5f};
            v4sf sum_in = {0}, sum_fg = {0};
            int i = from;

            for (; i + 4 <= n; i += 4)
            {
                v4si di = {rx[i], rx[i + 1], rx[i + 2], rx[i + 3]};
                v4sf d = __builtin_convertvector(di, v4sf);
                v4sf e = d - *(const v4sf *) (y + i);
                v4si round;

                sum_in += d * d;
                sum_fg += e * e;
                e = (v4sf) (((v4si) e & (e <= top)) | ((v4si) top & ~(e <= top)));
                e = (v4sf) (((v4si) e & (e >= bottom)) | ((v4si) bottom & ~(e >= bottom)));
                /* Half away from zero: the sign of e on 0.5. */
                round = __builtin_convertvector(e + (v4sf) (((v4si) e & (v4si) {INT32_MIN, INT32_MIN, INT32_MIN,
                                                                                  INT32_MIN}) | (v4si) half),
                                                v4si);
                for (int k = 0; k < 4; k++)
                    rx[i + k] = (int16_t) round[k];
            }
            for (; i < n; i++)
            {
                float d = (float) rx[i], e = d - y[i];

                e_in += d * d;
                e_fg += e * e;
                rx[i] = saturate(e);
            }
            e_in += (sum_in[0] + sum_in[1]) + (sum_in[2] + sum_in[3]);
            e_fg += (sum_fg[0] + sum_fg[1]) + (sum_fg[2] + sum_fg[3]);
        }
        e_fg /= (float) (n - from);
        e_in /= (float) (n - from);
        s->floor = (e_fg < s->floor) ? e_fg : s->floor * FLOOR_RISE;
        if (ref >= MIN_MEAN_POWER * (n - from) && e_in >= MIN_ECHO_POWER)
        {
            /* The caller talks, or the echo changed (perhaps to taps outside the
               window): adapt again, along the whole tail. */
            if (e_fg <= 4.0f * s->rest_ratio * e_in || e_fg <= WAKE_ABOVE_FLOOR * s->floor)
                s->poor = 0;
            else if (++s->poor >= WAKE_BLOCKS)
                wake(s);
        }
    }
    /* A line that had no echo, or a window that missed a new one, is searched again
       now and then; a line with no echo costs nothing else meanwhile. */
    if (s->resting && s->rested >= RESEARCH_SAMPLES)
        wake(s);
}

/* Adapting: both filters sample by sample, the background learning. Returns where
   it stopped: n, or the sample after the one at which it came to rest. */
WIDE_CLONES static int adapt(echocan_t *s, int16_t *rx, int n)
{
    const int taps = s->taps, jlo = s->jlo, w = s->jhi - s->jlo;
    const float min_pow = MIN_MEAN_POWER * taps;
    const float reg = min_pow + NOISE_REGULARISE * (s->line_noise > 0.0f ? s->line_noise : 0.0f) * taps;

    if (s->xpow_stale)
    {
        s->xpow = 0;
        for (int k = 0; k < taps; k++)
            s->xpow += (int64_t) ((int32_t) s->x[k] * (int32_t) s->x[k]);
        s->xpow_stale = 0;
    }
    for (int i = 0; i < n; i++)
    {
        const float *xw = s->x + i + 1 + jlo;
        int32_t xn = (int32_t) s->x[taps + i], old = (int32_t) s->x[i];
        float d, y_fg, y_bg, e_fg, e_bg;

        s->xpow += (int64_t) (xn * xn) - (int64_t) (old * old);
        if (s->xpow == 0)
        {
            /* Nothing sent within the tail: no echo to cancel, no stretch to judge. */
            s->better = s->worse = 0;
            stretch_clear(s);
            continue;
        }
        d = (float) rx[i];
        {
            float ax = (float) (xn < 0 ? -xn : xn);

            if (ax > s->peak_now)
                s->peak_now = ax;
            if (++s->peak_n == STRETCH)
            {
                s->peak[s->peak_at] = s->peak_now;
                s->peak_at = (s->peak_at + 1) % s->npeaks;
                s->peak_tail = 0.0f;
                for (int k = 0; k < s->npeaks; k++)
                    if (s->peak[k] > s->peak_tail)
                        s->peak_tail = s->peak[k];
                s->peak_now = 0.0f;
                s->peak_n = 0;
            }
            if ((d < 0.0f ? -d : d) > GEIGEL * (s->peak_tail > s->peak_now ? s->peak_tail : s->peak_now))
                s->hold = HANGOVER;
            else if (s->hold > 0)
                s->hold--;
            if (s->hold)
                s->talked = 1;
        }
        dot2(s->fg + jlo, s->bg + jlo, xw, w, &y_fg, &y_bg);
        e_fg = d - y_fg;
        e_bg = d - y_bg;
        if (!s->hold && !s->near && (float) s->xpow >= min_pow)
            step(s->bg + jlo, xw, MU * e_bg / ((float) s->xpow + reg), w);
        s->e_fg += e_fg * e_fg;
        s->e_bg += e_bg * e_bg;
        s->e_in += d * d;
        s->e_y += y_fg * y_fg;
        rx[i] = saturate(e_fg);
        if (++s->in_stretch == STRETCH)
        {
            judge(s);
            if (s->resting)
                return i + 1;
        }
    }
    return n;
}

void echocan_update(echocan_t *s, const int16_t *tx, int16_t *rx, int n)
{
    const int taps = s->taps;

    while (n > 0)
    {
        int m = n < CHUNK ? n : CHUNK;
        int i = 0;

        for (int k = 0; k < m; k++)
            s->x[taps + k] = tx ? (float) tx[k] : 0.0f;
        if (!s->resting)
            i = adapt(s, rx, m);
        if (s->resting && i < m)
            rest(s, rx, i, m);
        memmove(s->x, s->x + m, taps * sizeof(float));
        if (tx)
            tx += m;
        rx += m;
        n -= m;
    }
}
