#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "playback.h"

player_t *player_init(player_t *s)
{
    int allocated = 0;

    if (s == NULL)
    {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
        allocated = 1;
    }
    else
    {
        memset(s, 0, sizeof(*s));
    }
    s->started_step = -1;
    s->dtmf_on_ms = 50;
    s->dtmf_off_ms = 55;
    s->tone_desc = tone_gen_descriptor_init(NULL, 425, -10, 0, 0, 1000, 0, 0, 0, 1);
    s->tone_gen = tone_gen_init(NULL, s->tone_desc);
    s->dtmf = dtmf_tx_init(NULL);
    if (s->tone_desc == NULL || s->tone_gen == NULL || s->dtmf == NULL)
    {
        player_release(s);
        if (allocated)
            free(s);
        return NULL;
    }
    return s;
}

int player_release(player_t *s)
{
    if (s->tone_gen)
        tone_gen_free(s->tone_gen);
    if (s->tone_desc)
        tone_gen_descriptor_free(s->tone_desc);
    if (s->dtmf)
        dtmf_tx_free(s->dtmf);
    s->tone_gen = NULL;
    s->tone_desc = NULL;
    s->dtmf = NULL;
    return 0;
}

int player_free(player_t *s)
{
    if (s == NULL)
        return 0;
    player_release(s);
    free(s);
    return 0;
}

/* Arms spandsp's generator for one step of the current tone. */
static void tone_step_begin(player_t *s)
{
    const tone_step_t *t = &s->tone->step[s->tone_step];

    s->tone_left = (t->ms == 0) ? -1 : MS_TO_SAMPLES(t->ms);
    if (t->f1 == 0)
        return;
    /* A step is played as one on-period; continuous steps repeat a 1 s period. */
    tone_gen_descriptor_init(s->tone_desc, t->f1, t->level, t->f2, t->f2 ? t->level : 0,
                             t->ms ? t->ms : 1000, 0, 0, 0, t->ms == 0);
    tone_gen_init(s->tone_gen, s->tone_desc);
}

static void tone_begin(player_t *s, const tone_def_t *tone)
{
    s->tone = tone;
    s->tone_step = 0;
    tone_step_begin(s);
}

/* Plays the current tone into amp (or counts); a tone never ends by itself unless it
   is a one-shot sequence, so the step's length decides. */
static void tone_run(player_t *s, int16_t *amp, int n)
{
    while (n > 0)
    {
        const tone_step_t *t = &s->tone->step[s->tone_step];
        int chunk = n;

        if (s->tone_left >= 0 && s->tone_left < chunk)
            chunk = (int) s->tone_left;
        if (amp)
        {
            if (t->f1 == 0)
            {
                memset(amp, 0, chunk * sizeof(int16_t));
            }
            else
            {
                int got = tone_gen(s->tone_gen, amp, chunk);
                if (got < chunk)
                    memset(amp + got, 0, (chunk - got) * sizeof(int16_t));
            }
            amp += chunk;
        }
        n -= chunk;
        if (s->tone_left >= 0)
        {
            s->tone_left -= chunk;
            if (s->tone_left == 0)
            {
                s->tone_step++;
                if (s->tone_step >= s->tone->nsteps)
                {
                    if (!s->tone->repeat)
                    {
                        /* One-shot: silence for the rest of the step. */
                        s->tone_step = s->tone->nsteps - 1;
                        s->tone_left = -1;
                        if (amp && n > 0)
                            memset(amp, 0, n * sizeof(int16_t));
                        return;
                    }
                    s->tone_step = 0;
                }
                tone_step_begin(s);
            }
        }
    }
}

int64_t player_digits_samples(const player_t *s, const char *digits)
{
    return (int64_t) strlen(digits) * MS_TO_SAMPLES(s->dtmf_on_ms + s->dtmf_off_ms);
}

static void step_begin(player_t *s)
{
    play_step_t *st = &s->step[s->cur];

    s->pos = 0;
    s->started_step = s->cur;
    switch (st->type)
    {
    case PLAY_TONE:
        tone_begin(s, st->tone);
        break;
    case PLAY_DIGITS:
        dtmf_tx_init(s->dtmf);
        dtmf_tx_set_timing(s->dtmf, s->dtmf_on_ms, s->dtmf_off_ms);
        dtmf_tx_put(s->dtmf, st->digits, -1);
        break;
    default:
        break;
    }
}

int player_start(player_t *s, const play_step_t *steps, int n, int loop, int interruptible)
{
    if (n <= 0 || n > PLAY_MAX_ITEMS)
        return ERR_ARG;
    memcpy(s->step, steps, n * sizeof(*steps));
    s->nsteps = n;
    s->cur = 0;
    s->loop = loop;
    s->interruptible = interruptible;
    s->active = 1;
    s->started_step = -1;
    step_begin(s);
    return 0;
}

void player_stop(player_t *s)
{
    s->active = 0;
    s->nsteps = 0;
}

int player_run(player_t *s, int16_t *amp, int n)
{
    /* No audio to make (a signalling-only board) and the frame inside a prompt, a
       silence or digits: it only moves the position on, which is all the loop below
       would do. A tone's own steps have to be counted, so it takes the loop. */
    if (amp == NULL && s->active)
    {
        const play_step_t *st = &s->step[s->cur];

        if (st->type != PLAY_TONE && st->len >= 0 && s->pos + n < st->len)
        {
            s->pos += n;
            return 0;
        }
    }
    while (n > 0 && s->active)
    {
        play_step_t *st = &s->step[s->cur];
        int64_t left = (st->len < 0) ? n : st->len - s->pos;
        int chunk = (left < n) ? (int) left : n;

        switch (st->type)
        {
        case PLAY_PROMPT:
            if (amp)
                memcpy(amp, st->pcm + s->pos, chunk * sizeof(int16_t));
            break;
        case PLAY_TONE:
            tone_run(s, amp, chunk);
            break;
        case PLAY_DIGITS:
            if (amp)
            {
                int got = dtmf_tx(s->dtmf, amp, chunk);
                if (got < chunk)
                    memset(amp + got, 0, (chunk - got) * sizeof(int16_t));
            }
            break;
        default:
            if (amp)
                memset(amp, 0, chunk * sizeof(int16_t));
            break;
        }
        if (amp)
            amp += chunk;
        n -= chunk;
        s->pos += chunk;
        if (st->len >= 0 && s->pos >= st->len)
        {
            if (++s->cur >= s->nsteps)
            {
                if (!s->loop)
                {
                    s->active = 0;
                    if (amp && n > 0)
                        memset(amp, 0, n * sizeof(int16_t));
                    return 1;
                }
                s->cur = 0;
            }
            step_begin(s);
        }
    }
    if (amp && n > 0)
        memset(amp, 0, n * sizeof(int16_t));
    return 0;
}
