#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <spandsp.h>

#include "bench.h"
#include "common.h"
#include "engine_private.h"
#include "g711.h"
#include "supervise.h"
#include "toneplan.h"

static double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int work_valid(const bench_work_t *w)
{
    const tone_plan_t *plan;

    if (w == NULL || w->channels < 1 || w->channels > 4096 || w->frames < 1)
        return 0;
    if (w->law != LAW_ALAW && w->law != LAW_ULAW)
        return 0;
    if ((plan = tone_plan_find(w->plan)) == NULL)
        return 0;
    if (w->heard == NULL || w->heard_len < FRAME_SAMPLES)
        return 0;
    if (w->played != NULL)
        return w->played_len >= FRAME_SAMPLES;
    /* Only a continuous tone: its one step is what both sides generate. */
    return w->tone > TONE_NONE && w->tone < TONE_COUNT && plan->tone[w->tone].nsteps == 1
        && plan->tone[w->tone].step[0].ms == 0 && plan->tone[w->tone].step[0].f1 != 0;
}

/* The recording as a board carries it: whole frames of G.711 in the channel's law. */
static uint8_t *encode_recording(const bench_work_t *w, int *frames)
{
    int n = w->heard_len / FRAME_SAMPLES;
    uint8_t *rec = malloc((size_t) n * FRAME_SAMPLES);

    if (rec == NULL)
        return NULL;
    for (int i = 0; i < n * FRAME_SAMPLES; i++)
        rec[i] = (w->law == LAW_ALAW) ? linear_to_alaw(w->heard[i]) : linear_to_ulaw(w->heard[i]);
    *frames = n;
    return rec;
}

/* Channels do not hear the recording in step: each starts at its own frame. */
static int start_frame(int ch, int frames)
{
    return (int) (((int64_t) ch * 37) % frames);
}


static uint32_t fnv1a(uint32_t h, const uint8_t *p, int n)
{
    for (int i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* ---- the bare loop ---- */

typedef struct
{
    dtmf_rx_state_t *dtmf;
    supervise_t sup;
    int sup_ready;
    tone_gen_descriptor_t *tone_desc;
    tone_gen_state_t *tone;
    int pos;                    /* frame of the recording heard next */
    int played_pos;
    int16_t amp[FRAME_SAMPLES];
    uint8_t tx[FRAME_SAMPLES];
    bench_result_t *r;
} base_chan_t;

static void base_digit(void *user, int code, int level, int delay)
{
    base_chan_t *b = (base_chan_t *) user;

    (void) level;
    (void) delay;
    if (code)
        b->r->digits++;
}

static void base_tone(void *user, int tone, int on)
{
    base_chan_t *b = (base_chan_t *) user;

    (void) tone;
    if (on)
        b->r->tones++;
}

static void base_release(base_chan_t *ch, int n)
{
    for (int i = 0; i < n; i++)
    {
        if (ch[i].dtmf)
            dtmf_rx_free(ch[i].dtmf);
        if (ch[i].sup_ready)
            supervise_release(&ch[i].sup);
        if (ch[i].tone)
            tone_gen_free(ch[i].tone);
        if (ch[i].tone_desc)
            tone_gen_descriptor_free(ch[i].tone_desc);
    }
    free(ch);
}

int bench_baseline(const bench_work_t *w, bench_result_t *r)
{
    const tone_plan_t *plan;
    base_chan_t *ch;
    uint8_t *rec;
    int rec_frames;
    int n;
    /* The engine does not listen for call-progress tones while it plays one itself. */
    int supervise = (w != NULL && w->played != NULL);
    const int16_t *dec;
    double t0;

    if (!work_valid(w) || r == NULL)
        return ERR_ARG;
    memset(r, 0, sizeof(*r));
    g711_tables();
    dec = g711_dec[w->law == LAW_ALAW ? LAW_ALAW : LAW_ULAW];
    plan = tone_plan_find(w->plan);
    n = w->channels;
    if ((rec = encode_recording(w, &rec_frames)) == NULL)
        return ERR_NOMEM;
    if ((ch = calloc(n, sizeof(*ch))) == NULL)
    {
        free(rec);
        return ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
    {
        base_chan_t *b = &ch[i];
        channel_config_t cfg;

        /* The same detector settings as an engine channel with the default configuration. */
        engine_default_config(KIND_FXO, &cfg);
        b->r = r;
        b->pos = start_frame(i + 1, rec_frames);
        if ((b->dtmf = dtmf_rx_init(NULL, NULL, NULL)) == NULL)
            goto nomem;
        dtmf_rx_set_realtime_callback(b->dtmf, base_digit, b);
        dtmf_rx_parms(b->dtmf, cfg.dtmf_filter_dialtone ? 1 : 0, cfg.dtmf_twist, cfg.dtmf_reverse_twist,
                      cfg.dtmf_threshold ? cfg.dtmf_threshold : -42);
        /* supervise_init builds the very tone receiver an engine channel uses; the loop
           below then calls tonerx_rx on it directly. */
        if (supervise_init(&b->sup, plan, cfg.busy_cycles, base_tone, b) == NULL)
            goto nomem;
        b->sup_ready = 1;
        if (w->played == NULL)
        {
            const tone_step_t *t = &plan->tone[w->tone].step[0];
            /* As the player arms a continuous step: a repeating 1 s period. */
            b->tone_desc = tone_gen_descriptor_init(NULL, t->f1, t->level, t->f2, t->f2 ? t->level : 0,
                                                    1000, 0, 0, 0, 1);
            if (b->tone_desc == NULL || (b->tone = tone_gen_init(NULL, b->tone_desc)) == NULL)
                goto nomem;
        }
    }

    t0 = cpu_now();
    for (int f = 0; f < w->frames; f++)
    {
        for (int i = 0; i < n; i++)
        {
            base_chan_t *b = &ch[i];
            const uint8_t *in = rec + (size_t) b->pos * FRAME_SAMPLES;

            if (++b->pos == rec_frames)
                b->pos = 0;
            for (int k = 0; k < FRAME_SAMPLES; k++)
                b->amp[k] = dec[in[k]];
            dtmf_rx(b->dtmf, b->amp, FRAME_SAMPLES);
            if (supervise)
                tonerx_rx(&b->sup.rx, b->amp, FRAME_SAMPLES);
            if (w->played)
            {
                for (int k = 0; k < FRAME_SAMPLES;)
                {
                    int chunk = w->played_len - b->played_pos;
                    if (chunk > FRAME_SAMPLES - k)
                        chunk = FRAME_SAMPLES - k;
                    memcpy(b->amp + k, w->played + b->played_pos, chunk * sizeof(int16_t));
                    k += chunk;
                    b->played_pos += chunk;
                    if (b->played_pos == w->played_len)
                        b->played_pos = 0;
                }
            }
            else
            {
                tone_gen(b->tone, b->amp, FRAME_SAMPLES);
            }
            if (w->law == LAW_ALAW)
            {
                for (int k = 0; k < FRAME_SAMPLES; k++)
                    b->tx[k] = alaw_enc[alaw_slot(b->amp[k])];
            }
            else
            {
                for (int k = 0; k < FRAME_SAMPLES; k++)
                    b->tx[k] = ulaw_enc[ulaw_slot(b->amp[k])];
            }
        }
    }
    r->cpu_s = cpu_now() - t0;

    r->checksum = 2166136261u;
    for (int i = 0; i < n; i++)
        r->checksum = fnv1a(r->checksum, ch[i].tx, FRAME_SAMPLES);
    base_release(ch, n);
    free(rec);
    return 0;

nomem:
    base_release(ch, n);
    free(rec);
    return ERR_NOMEM;
}

/* ---- the engine on a replay board ---- */

typedef struct
{
    board_t base;
    int n;
    const uint8_t *rec;
    int rec_frames;
    int *pos;                   /* 1..n */
    int *ring;                  /* 1..n: a ring waiting to be delivered */
    uint8_t (*tx)[FRAME_SAMPLES];   /* 1..n: the last frame written */
} replay_t;

static replay_t *replay(board_t *b)
{
    return (replay_t *) b;
}

static int r_channels(board_t *b)
{
    return replay(b)->n;
}

static int r_kind(board_t *b, int ch)
{
    return (ch >= 1 && ch <= replay(b)->n) ? KIND_FXO : KIND_NONE;
}

static int r_has_audio(board_t *b)
{
    (void) b;
    return 1;
}

static int r_set_law(board_t *b, int ch, int law)
{
    (void) b;
    (void) ch;
    return (law == LAW_ALAW || law == LAW_ULAW) ? 0 : ERR_ARG;
}

static int r_read(board_t *b, int ch, uint8_t *block)
{
    replay_t *s = replay(b);

    memcpy(block, s->rec + (size_t) s->pos[ch] * FRAME_SAMPLES, FRAME_SAMPLES);
    if (++s->pos[ch] == s->rec_frames)
        s->pos[ch] = 0;
    return FRAME_SAMPLES;
}

static int r_write(board_t *b, int ch, const uint8_t *block)
{
    memcpy(replay(b)->tx[ch], block, FRAME_SAMPLES);
    return FRAME_SAMPLES;
}

static int r_hook(board_t *b, int ch, int op)
{
    (void) b;
    (void) ch;
    (void) op;
    return 0;
}

static int r_get_event(board_t *b, int ch, board_event_t *ev)
{
    replay_t *s = replay(b);

    if (!s->ring[ch])
        return 0;
    s->ring[ch] = 0;
    memset(ev, 0, sizeof(*ev));
    ev->type = BEV_RING_BEGIN;
    return 1;
}

static int r_oob(board_t *b, int ch, const board_event_t *ev)
{
    (void) b;
    (void) ch;
    (void) ev;
    return 0;
}

static void r_tick(board_t *b)
{
    (void) b;
}

static void r_free(board_t *b)
{
    replay_t *s = replay(b);

    free(s->pos);
    free(s->ring);
    free(s->tx);
    free(s);
}

static const struct board_ops replay_ops =
{
    "replay", r_channels, r_kind, r_has_audio, r_set_law, r_read, r_write, r_hook,
    r_get_event, r_oob, r_tick, r_free, NULL, NULL, NULL, NULL, NULL
};

static replay_t *replay_new(int n, const uint8_t *rec, int rec_frames)
{
    replay_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->base.ops = &replay_ops;
    s->n = n;
    s->rec = rec;
    s->rec_frames = rec_frames;
    s->pos = calloc(n + 1, sizeof(int));
    s->ring = calloc(n + 1, sizeof(int));
    s->tx = calloc(n + 1, FRAME_SAMPLES);
    if (s->pos == NULL || s->ring == NULL || s->tx == NULL)
    {
        r_free(&s->base);
        return NULL;
    }
    return s;
}

int bench_engine(const bench_work_t *w, bench_result_t *r)
{
    replay_t *rb;
    engine_t *e;
    uint8_t *rec;
    int rec_frames;
    int n;
    int rc = 0;
    play_item_t item;
    const engine_batch_t *batch;
    double t0;

    if (!work_valid(w) || r == NULL)
        return ERR_ARG;
    memset(r, 0, sizeof(*r));
    n = w->channels;
    if ((rec = encode_recording(w, &rec_frames)) == NULL)
        return ERR_NOMEM;
    if ((rb = replay_new(n, rec, rec_frames)) == NULL)
    {
        free(rec);
        return ERR_NOMEM;
    }
    if ((e = engine_new(&rb->base)) == NULL)
    {
        r_free(&rb->base);
        free(rec);
        return ERR_NOMEM;
    }
    /* Every channel: configured by default (DTMF, tones, busy hangup), rung, answered,
       playing. */
    for (int ch = 1; ch <= n && rc >= 0; ch++)
    {
        channel_config_t cfg;
        engine_default_config(KIND_FXO, &cfg);
        /* The recording plays the part of a card whose echo cancelling, if any, is
           done before the engine reads (board.h); the engine's own work is measured. */
        cfg.echocan_taps = 0;
        cfg.law = w->law;
        cfg.plan = w->plan;
        rc = engine_configure(e, ch, &cfg);
        rb->ring[ch] = 1;
    }
    if (rc >= 0)
        engine_run(e, 1, 0);
    memset(&item, 0, sizeof(item));
    item.type = w->played ? PLAY_PROMPT : PLAY_TONE;
    item.id = w->tone;
    if (rc >= 0 && w->played)
        item.id = rc = engine_prompt_add(e, w->played, w->played_len);
    for (int ch = 1; ch <= n && rc >= 0; ch++)
    {
        if ((rc = engine_answer(e, ch)) >= 0)
            rc = engine_play(e, ch, &item, 1, w->played != NULL, 0);
    }
    if (rc < 0)
    {
        engine_free(e);
        free(rec);
        return rc;
    }
    for (int ch = 1; ch <= n; ch++)
        rb->pos[ch] = start_frame(ch, rec_frames);

    t0 = cpu_now();
    batch = engine_run(e, w->frames, 0);
    r->cpu_s = cpu_now() - t0;

    for (int i = 0; i < batch->nevents; i++)
    {
        const engine_event_t *ev = &batch->events[i];
        if (ev->type == EV_DIGIT)
            r->digits++;
        else if (ev->type == EV_TONE && ev->b)
            r->tones++;
        else if (ev->type == EV_HANGUP)
            r->hangups++;
    }
    r->checksum = 2166136261u;
    for (int ch = 1; ch <= n; ch++)
    {
        /* A digit still sounding has begun but has no event yet. */
        if (e->ch[ch].digit)
            r->digits++;
        r->checksum = fnv1a(r->checksum, rb->tx[ch], FRAME_SAMPLES);
    }
    engine_free(e);
    free(rec);
    return 0;
}
