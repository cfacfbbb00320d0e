#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "supervise.h"

/* Detected tones, in order of how much they matter to a call. */
static const int detected[] = {TONE_BUSY, TONE_CONGESTION, TONE_RINGBACK, TONE_DIAL};

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
    int idx = super_tone_rx_add_tone(s->desc);

    if (idx < 0 || idx >= TONE_COUNT)
        return;
    s->tone_of[idx] = id;
    s->ntones = idx + 1;
    if (t->nsteps == 1 && t->step[0].ms == 0)
    {
        /* Continuous tone: long enough that no cadenced tone's burst passes for it. */
        super_tone_rx_add_element(s->desc, idx, low(&t->step[0]), high(&t->step[0]), 1500, 0);
        return;
    }
    if (id == TONE_RINGBACK)
        cycles = 1;
    for (int c = 0; c < cycles; c++)
    {
        for (int k = 0; k < t->nsteps; k++)
        {
            const tone_step_t *st = &t->step[k];
            super_tone_rx_add_element(s->desc, idx, low(st), high(st), lo(st->ms), hi(st->ms));
        }
    }
}

/* super_tone_rx numbers frequencies in the order they are first added, and reports
   the two strongest with the lower number first; a pattern whose pair is numbered the
   other way round never matches. So every frequency of the plan is added first, in
   ascending order, and patterns name theirs low-high.
   It also ranks two results even when only one frequency is monitored, as in the
   425 Hz plans: guard frequencies give it real ones, and make speech, whose energy
   spreads over them, less like a call-progress tone. The registering pattern can
   never match: its elements last an hour. */
static void register_frequencies(supervise_t *s, const tone_plan_t *plan)
{
    int freqs[2 * TONE_MAX_STEPS * TONE_COUNT + 2];
    int n = 0;
    int idx = super_tone_rx_add_tone(s->desc);

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
            super_tone_rx_add_element(s->desc, idx, freqs[i], 0, 3600000, 3600000);
    }
}

static void tone_report(void *user, int code, int level, int delay)
{
    supervise_t *s = (supervise_t *) user;
    int tone = (code >= 0 && code < s->ntones) ? s->tone_of[code] : TONE_NONE;

    (void) level;
    (void) delay;
    if (tone != TONE_NONE)
    {
        s->current = tone;
        s->report(s->user, tone, 1);
    }
    else if (s->current != TONE_NONE)
    {
        int was = s->current;
        s->current = TONE_NONE;
        s->report(s->user, was, 0);
    }
}

supervise_t *supervise_init(supervise_t *s, const tone_plan_t *plan, int cycles,
                            supervise_report_func_t report, void *user)
{
    int allocated = 0;

    if (cycles < 1 || cycles > SUPERVISE_MAX_CYCLES || plan == NULL || report == NULL)
        return NULL;
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
    s->report = report;
    s->user = user;
    s->desc = super_tone_rx_make_descriptor(NULL);
    if (s->desc == NULL)
        goto fail;
    register_frequencies(s, plan);
    for (unsigned i = 0; i < sizeof(detected) / sizeof(detected[0]); i++)
        add_pattern(s, &plan->tone[detected[i]], detected[i], cycles);
    s->rx = super_tone_rx_init(NULL, s->desc, tone_report, s);
    if (s->rx == NULL)
        goto fail;
    return s;

fail:
    supervise_release(s);
    if (allocated)
        free(s);
    return NULL;
}

int supervise_release(supervise_t *s)
{
    if (s->rx)
        super_tone_rx_free(s->rx);
    if (s->desc)
        super_tone_rx_free_descriptor(s->desc);
    s->rx = NULL;
    s->desc = NULL;
    return 0;
}

int supervise_free(supervise_t *s)
{
    if (s == NULL)
        return 0;
    supervise_release(s);
    free(s);
    return 0;
}

void supervise_rx(supervise_t *s, const int16_t *amp, int n)
{
    super_tone_rx(s->rx, amp, n);
}

void supervise_reset(supervise_t *s)
{
    /* The detector only hears connected calls, so without this the end of one call's
       cadence would run on into the next call's first sounds. */
    super_tone_rx_init(s->rx, s->desc, tone_report, s);
    s->current = TONE_NONE;
}
