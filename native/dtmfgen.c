#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#include "common.h"
#include "dtmfgen.h"

static const char keypad[4][4] =
{
    {'1', '2', '3', 'A'},
    {'4', '5', '6', 'B'},
    {'7', '8', '9', 'C'},
    {'*', '0', '#', 'D'}
};
static const int row_hz[4] = {697, 770, 852, 941};
static const int col_hz[4] = {1209, 1336, 1477, 1633};

int dtmf_digit_freqs(char digit, int *low, int *high)
{
    for (int r = 0; r < 4; r++)
    {
        for (int c = 0; c < 4; c++)
        {
            if (keypad[r][c] == digit)
            {
                *low = row_hz[r];
                *high = col_hz[c];
                return 1;
            }
        }
    }
    return 0;
}

dtmfgen_t *dtmfgen_init(dtmfgen_t *s)
{
    if (s == NULL)
    {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
    }
    else
    {
        memset(s, 0, sizeof(*s));
    }
    return s;
}

int dtmfgen_release(dtmfgen_t *s)
{
    s->active = 0;
    return 0;
}

int dtmfgen_free(dtmfgen_t *s)
{
    free(s);
    return 0;
}

static void digit_begin(dtmfgen_t *s)
{
    int low = 0;
    int high = 0;

    dtmf_digit_freqs(s->digits[s->cur], &low, &high);
    s->rate_low = dds_phase_rate(low * (1.0f + s->params.error_low / 100.0f));
    s->rate_high = dds_phase_rate(high * (1.0f + s->params.error_high / 100.0f));
    s->scale_low = dds_scaling_dbm0(s->params.level_low);
    s->scale_high = dds_scaling_dbm0(s->params.level_high);
    s->phase_low = 0;
    s->phase_high = 0;
    s->pos = 0;
}

int dtmfgen_put(dtmfgen_t *s, const char *digits, const dtmf_send_params_t *p)
{
    int low;
    int high;
    size_t n = strlen(digits);

    if (n == 0 || n > DTMFGEN_MAX_DIGITS)
        return ERR_ARG;
    for (size_t i = 0; i < n; i++)
    {
        if (!dtmf_digit_freqs(digits[i], &low, &high))
            return ERR_ARG;
    }
    if (p->on_ms <= 0 || p->on_ms > 10000 || p->off_ms < 0 || p->off_ms > 10000)
        return ERR_ARG;
    /* Written as "inside the range" so that a NaN from the Python side fails too. */
    if (!(p->level_low >= -90.0f && p->level_low <= 3.14f && p->level_high >= -90.0f && p->level_high <= 3.14f))
        return ERR_ARG;
    if (!(p->error_low >= -20.0f && p->error_low <= 20.0f && p->error_high >= -20.0f && p->error_high <= 20.0f))
        return ERR_ARG;
    memcpy(s->digits, digits, n + 1);
    s->ndigits = (int) n;
    s->cur = 0;
    s->params = *p;
    s->on = MS_TO_SAMPLES(p->on_ms);
    s->off = MS_TO_SAMPLES(p->off_ms);
    s->active = 1;
    digit_begin(s);
    return 0;
}

int dtmfgen_busy(const dtmfgen_t *s)
{
    return s->active;
}

int dtmfgen_run(dtmfgen_t *s, int16_t *amp, int n, dtmfgen_edge_func_t on_edge, void *user)
{
    int i = 0;

    while (i < n && s->active)
    {
        if (s->pos == 0 && on_edge)
            on_edge(user, s->digits[s->cur], 1);
        if (s->pos < s->on)
        {
            int chunk = (int) ((s->on - s->pos < n - i) ? s->on - s->pos : n - i);
            if (amp)
            {
                for (int k = 0; k < chunk; k++)
                {
                    int32_t v = amp[i + k]
                              + dds_mod(&s->phase_low, s->rate_low, s->scale_low, 0)
                              + dds_mod(&s->phase_high, s->rate_high, s->scale_high, 0);
                    amp[i + k] = (int16_t) (v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
                }
            }
            i += chunk;
            s->pos += chunk;
            continue;
        }
        /* The end is told with the first sample after the tone, as the start is with
           its first sample: told any earlier, a peer that hears it a tick later (as
           it would hear the audio) takes the digit for a frame shorter than it is. */
        if (s->pos == s->on && on_edge)
            on_edge(user, s->digits[s->cur], 0);
        {
            int chunk = (int) ((s->on + s->off - s->pos < n - i) ? s->on + s->off - s->pos : n - i);
            i += chunk;
            s->pos += chunk;
        }
        if (s->pos >= s->on + s->off)
        {
            if (++s->cur >= s->ndigits)
                s->active = 0;
            else
                digit_begin(s);
        }
    }
    return i;
}
