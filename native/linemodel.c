#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#include "common.h"
#include "linemodel.h"

#define NOISE_TABLE 16384
static int16_t noise_table[NOISE_TABLE];
static int noise_ready;

/* The table holds noise at 0 dBm0; scaling and a random offset make each line's. */
static void noise_table_fill(void)
{
    noise_state_t *n;

    if (noise_ready)
        return;
    n = noise_init_dbm0(NULL, 1234567, 0.0f, NOISE_CLASS_AWGN, 7);
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
    if (p->echo_delay_ms < 0 || MS_TO_SAMPLES(p->echo_delay_ms) >= LINE_ECHO_MAX - FRAME_SAMPLES)
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
    s->noise_q15 = (p->noise_dbm0 <= -90.0f) ? 0 : db_to_q15(p->noise_dbm0);
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

static const int16_t *noise_block(linemodel_t *s, int n)
{
    /* xorshift: cheap, and good enough to pick a place in the table */
    s->seed ^= s->seed << 13;
    s->seed ^= s->seed >> 17;
    s->seed ^= s->seed << 5;
    return noise_table + (s->seed % (NOISE_TABLE - n));
}

void linemodel_to_box(linemodel_t *s, const int16_t *far_tx, const int16_t *box_tx,
                      int16_t *out, int n)
{
    const int16_t *nz = s->noise_q15 ? noise_block(s, n) : NULL;

    for (int i = 0; i < n; i++)
    {
        int32_t v = far_tx ? (far_tx[i] * s->gain_q15) >> 15 : 0;
        if (nz)
            v += (nz[i] * s->noise_q15) >> 15;
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

void linemodel_to_far(linemodel_t *s, const int16_t *box_tx, int16_t *out, int n)
{
    const int16_t *nz = s->noise_q15 ? noise_block(s, n) : NULL;

    for (int i = 0; i < n; i++)
    {
        int32_t v = box_tx ? (box_tx[i] * s->gain_q15) >> 15 : 0;
        if (nz)
            v += (nz[i] * s->noise_q15) >> 15;
        out[i] = sat16(v);
    }
}
