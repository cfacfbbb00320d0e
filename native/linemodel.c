#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#include "common.h"
#include "linemodel.h"

#define NOISE_TABLE 16384
/* The table's level: at 0 dBm0 a Gaussian's peaks clip from 2 sigma up and the noise
   comes out 0.3 dB short; 10 dB lower nothing clips, and every line level up to
   0 dBm0 is still within db_to_q15's gain. */
#define NOISE_TABLE_DBM0 -10.0f
static int16_t noise_table[NOISE_TABLE];
static int noise_ready;

/* Scaling and a random offset into the table make each line's noise. */
static void noise_table_fill(void)
{
    noise_state_t *n;

    if (noise_ready)
        return;
    n = noise_init_dbm0(NULL, 1234567, NOISE_TABLE_DBM0, NOISE_CLASS_AWGN, 7);
    for (int i = 0; i < NOISE_TABLE; i++)
        noise_table[i] = noise(n);
    noise_free(n);
    noise_ready = 1;
}

void line_params_default(line_params_t *p)
{
    p->loss_db = 0.0f;
    p->noise_dbm0 = -99.0f;
    p->echo_delay_ms = 0;
    p->echo_return_loss_db = 99.0f;
    p->hangup_signal = HANGUP_LOOP_BREAK;
}

int line_params_check(const line_params_t *p)
{
    if (!(p->loss_db >= 0.0f && p->loss_db <= 60.0f))
        return ERR_ARG;
    if (!(p->noise_dbm0 <= 0.0f && p->noise_dbm0 >= -200.0f))
        return ERR_ARG;
    /* linemodel.h promises 0 to 120 ms; the history must hold that much. */
    if (p->echo_delay_ms < 0 || p->echo_delay_ms > 120 || MS_TO_SAMPLES(p->echo_delay_ms) >= LINE_ECHO_MAX)
        return ERR_ARG;
    if (!(p->echo_return_loss_db >= 0.0f && p->echo_return_loss_db <= 200.0f))
        return ERR_ARG;
    if (p->hangup_signal < HANGUP_LOOP_BREAK || p->hangup_signal > HANGUP_BUSY_TONE)
        return ERR_ARG;
    return 0;
}

static int32_t db_to_q15(float db)
{
    double g = pow(10.0, db / 20.0) * 32768.0;
    return (int32_t) (g > 32768.0 * 4 ? 32768.0 * 4 : g);
}

linemodel_t *linemodel_init(linemodel_t *s, const line_params_t *p, uint32_t seed)
{
    if (line_params_check(p) < 0)
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
    noise_table_fill();
    s->p = *p;
    s->gain_q15 = db_to_q15(-p->loss_db);
    s->noise_q15 = (p->noise_dbm0 <= -90.0f) ? 0 : db_to_q15(p->noise_dbm0 - NOISE_TABLE_DBM0);
    s->echo_q15 = (p->echo_return_loss_db >= 90.0f) ? 0 : db_to_q15(-p->echo_return_loss_db);
    s->echo_delay = (int) MS_TO_SAMPLES(p->echo_delay_ms);
    if (s->echo_delay < 1)
        s->echo_delay = 1;      /* the hybrid cannot answer before it is spoken to */
    s->seed = seed ? seed : 1;
    return s;
}

int linemodel_release(linemodel_t *s)
{
    (void) s;
    return 0;
}

int linemodel_free(linemodel_t *s)
{
    free(s);
    return 0;
}

static inline int16_t sat16(int32_t v)
{
    return (int16_t) (v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

/* Where a block's noise starts in the table. A block longer than the table wraps
   round in it rather than reading past its end. */
static int noise_start(linemodel_t *s, int n)
{
    /* xorshift: cheap, and good enough to pick a place in the table */
    s->seed ^= s->seed << 13;
    s->seed ^= s->seed >> 17;
    s->seed ^= s->seed << 5;
    return (int) (s->seed % (uint32_t) ((n < NOISE_TABLE) ? NOISE_TABLE - n : NOISE_TABLE));
}

/* The line one sample at a time. A frame takes the frame path below, which gives the
   same samples; other blocks, and gains above unity, come this way. */
static void to_box_per_sample(linemodel_t *s, int nz, const int16_t *far_tx, const int16_t *box_tx,
                              int16_t *out, int n)
{
    for (int i = 0; i < n; i++)
    {
        int32_t v = far_tx ? (far_tx[i] * s->gain_q15) >> 15 : 0;
        if (nz >= 0)
        {
            v += (noise_table[nz] * s->noise_q15) >> 15;
            if (++nz == NOISE_TABLE)
                nz = 0;
        }
        if (s->echo_q15)
        {
            int k = (s->hpos - s->echo_delay + LINE_ECHO_MAX) % LINE_ECHO_MAX;
            v += (s->history[k] * s->echo_q15) >> 15;
        }
        s->history[s->hpos] = box_tx ? box_tx[i] : 0;
        s->hpos = (s->hpos + 1) % LINE_ECHO_MAX;
        out[i] = sat16(v);
    }
}

static void to_far_per_sample(linemodel_t *s, int nz, const int16_t *box_tx, int16_t *out, int n)
{
    for (int i = 0; i < n; i++)
    {
        int32_t v = box_tx ? (box_tx[i] * s->gain_q15) >> 15 : 0;
        if (nz >= 0)
        {
            v += (noise_table[nz] * s->noise_q15) >> 15;
            if (++nz == NOISE_TABLE)
                nz = 0;
        }
        out[i] = sat16(v);
    }
}

/* A gain as a frame multiplies by it: up to unity (32768) it fits 16 bits, unity kept
   apart as a mask that passes the sample through, so each product is 16 x 16 bits. */
typedef struct
{
    int16_t q;
    int16_t unity;
} gain16_t;

static int gain16(int32_t q15, gain16_t *g)
{
    g->q = (int16_t) (q15 < 32768 ? q15 : 0);
    g->unity = (int16_t) (q15 == 32768 ? -1 : 0);
    return q15 >= 0 && q15 <= 32768;
}

static const int16_t silence[FRAME_SAMPLES];

#if defined(__SSE2__)
#include <emmintrin.h>

/* A term of the mix, eight samples at once: (x * q) >> 15 from the high and low
   halves of the 16 x 16-bit products (it fits 16 bits, as q is below unity), or x
   itself at unity. */
static inline __m128i term8(const int16_t *x, gain16_t g)
{
    __m128i v = _mm_loadu_si128((const __m128i *) x);
    __m128i q = _mm_set1_epi16(g.q);
    __m128i p = _mm_or_si128(_mm_slli_epi16(_mm_mulhi_epi16(v, q), 1), _mm_srli_epi16(_mm_mullo_epi16(v, q), 15));

    return _mm_or_si128(p, _mm_and_si128(v, _mm_set1_epi16(g.unity)));
}

static inline __m128i widen_lo(__m128i v)
{
    return _mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16);
}

static inline __m128i widen_hi(__m128i v)
{
    return _mm_srai_epi32(_mm_unpackhi_epi16(v, v), 16);
}
#endif

/* One frame of what the line adds up, each term (x * q15) >> 15 as in the per-sample
   loop; a term the line lacks comes as silence at gain 0, which adds exactly nothing.
   The terms are computed on 16-bit lanes (eight samples an SSE2 instruction, where
   32-bit products take four) and summed on 32-bit ones, then packed with saturation:
   the per-sample loop's values exactly. Elsewhere the plain loop, which compilers
   vectorise as they can. */
static void mix_frame(int16_t *restrict out, const int16_t *restrict a, gain16_t ga,
                      const int16_t *restrict b, gain16_t gb, const int16_t *restrict c, gain16_t gc)
{
#if defined(__SSE2__)
    for (int i = 0; i < FRAME_SAMPLES; i += 8)
    {
        __m128i ta = term8(a + i, ga), tb = term8(b + i, gb), tc = term8(c + i, gc);
        __m128i lo = _mm_add_epi32(_mm_add_epi32(widen_lo(ta), widen_lo(tb)), widen_lo(tc));
        __m128i hi = _mm_add_epi32(_mm_add_epi32(widen_hi(ta), widen_hi(tb)), widen_hi(tc));

        _mm_storeu_si128((__m128i *) (out + i), _mm_packs_epi32(lo, hi));
    }
#else
    for (int i = 0; i < FRAME_SAMPLES; i++)
    {
        int32_t v = (((int32_t) a[i] * ga.q) >> 15) + (a[i] & ga.unity)
                  + (((int32_t) b[i] * gb.q) >> 15) + (b[i] & gb.unity)
                  + (((int32_t) c[i] * gc.q) >> 15) + (c[i] & gc.unity);
        out[i] = sat16(v);
    }
#endif
}

/* n samples of the echo history from `from` on, wrapping round its end. */
static void history_get(const linemodel_t *s, int from, int16_t *out, int n)
{
    int run = (LINE_ECHO_MAX - from < n) ? LINE_ECHO_MAX - from : n;

    memcpy(out, s->history + from, run * sizeof(int16_t));
    memcpy(out + run, s->history, (n - run) * sizeof(int16_t));
}

/* The box's n samples (silence for NULL) into the echo history. */
static void history_put(linemodel_t *s, const int16_t *box_tx, int n)
{
    int run = (LINE_ECHO_MAX - s->hpos < n) ? LINE_ECHO_MAX - s->hpos : n;

    if (box_tx)
    {
        memcpy(s->history + s->hpos, box_tx, run * sizeof(int16_t));
        memcpy(s->history, box_tx + run, (n - run) * sizeof(int16_t));
    }
    else
    {
        memset(s->history + s->hpos, 0, run * sizeof(int16_t));
        memset(s->history, 0, (n - run) * sizeof(int16_t));
    }
    s->hpos = (s->hpos + n) % LINE_ECHO_MAX;
}

void linemodel_to_box(linemodel_t *s, const int16_t *far_tx, const int16_t *box_tx,
                      int16_t *out, int n)
{
    int nz = s->noise_q15 ? noise_start(s, n) : -1;
    int16_t echo[FRAME_SAMPLES];
    gain16_t gf;
    gain16_t gn;
    gain16_t ge;

    if (n != FRAME_SAMPLES || out == far_tx || !gain16(far_tx ? s->gain_q15 : 0, &gf)
        || !gain16(nz >= 0 ? s->noise_q15 : 0, &gn) || !gain16(s->echo_q15, &ge))
    {
        to_box_per_sample(s, nz, far_tx, box_tx, out, n);
        return;
    }
    /* The per-sample loop reads the echo `echo_delay` samples behind where it writes.
       When the delay is at least a frame, every read is of history older than this
       frame: read, then write. When it is shorter, the reads that fall in this frame
       find what it wrote, and none reaches round to what it has yet to write (the
       history is far longer than a frame): write, then read. Either way the frame hears
       what the per-sample loop hears. */
    if (s->echo_q15 && s->echo_delay >= n)
        history_get(s, (s->hpos - s->echo_delay + LINE_ECHO_MAX) % LINE_ECHO_MAX, echo, n);
    history_put(s, box_tx, n);
    if (s->echo_q15 && s->echo_delay < n)
        history_get(s, (s->hpos - n - s->echo_delay + 2 * LINE_ECHO_MAX) % LINE_ECHO_MAX, echo, n);
    mix_frame(out, far_tx ? far_tx : silence, gf, nz >= 0 ? noise_table + nz : silence, gn,
              s->echo_q15 ? echo : silence, ge);
}

void linemodel_to_far(linemodel_t *s, const int16_t *box_tx, int16_t *out, int n)
{
    int nz = s->noise_q15 ? noise_start(s, n) : -1;
    gain16_t gb;
    gain16_t gn;
    gain16_t none;

    if (n != FRAME_SAMPLES || out == box_tx || !gain16(box_tx ? s->gain_q15 : 0, &gb)
        || !gain16(nz >= 0 ? s->noise_q15 : 0, &gn))
    {
        to_far_per_sample(s, nz, box_tx, out, n);
        return;
    }
    gain16(0, &none);
    mix_frame(out, box_tx ? box_tx : silence, gb, nz >= 0 ? noise_table + nz : silence, gn, silence, none);
}
