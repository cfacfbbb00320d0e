#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#include "common.h"
#include "board_sim.h"
#include "echocan.h"
#include "g711.h"

#define EVQ 64

/* The small fields first, in one cache line: the engine asks every channel for
   events every tick, and the queue behind them is 6 KB. */
typedef struct
{
    int kind;
    int law;
    int peer;
    int line;               /* index into lines[], or -1 */
    int offhook;            /* station */
    int ringing;            /* exchange */
    int alarm;
    int wrote;
    int read;
    int rx_valid;
    int head;
    int count;
    echocan_t *ec;          /* port: the line echo canceller, or NULL */
    int16_t tx[FRAME_SAMPLES];  /* what was written, as the codec decodes it */
    int16_t rx[FRAME_SAMPLES];
    board_event_t evq[EVQ];
} sim_chan_t;

typedef struct
{
    board_t base;
    int n;
    int audio;
    sim_chan_t *ch;         /* 1..n */
    linemodel_t **line_of;  /* by port channel */
    int queued;             /* events waiting, on all channels */
} board_sim_t;

/* A mu-law sample coded and decoded again, by the same slots: the round trip through
   the codec in one lookup, for audio that crosses the board linear. */
static int16_t ulaw_codec[(1 << 14) + 1];
static int ulaw_codec_ready;


/* Once, from board_sim_new, after the shared tables. */
static void codec_tables(void)
{
    g711_tables();
    if (ulaw_codec_ready)
        return;
    for (int i = 0; i <= (1 << 14); i++)
        ulaw_codec[i] = g711_dec[LAW_ULAW][ulaw_enc[i]];
    ulaw_codec_ready = 1;
}

/* A-law's round trip by arithmetic, the same values as spandsp's coder and decoder
   (a C test goes through every sample value): the coder takes the magnitude, ones'
   complement below zero, and keeps its bits from the segment's step up; the decoder
   puts it back in the middle of that step. The step is 16 below 512 and doubles with
   each bit above. Without a table and without branches, on 16-bit values, a frame of
   it becomes vector code, where a lookup a sample cannot. */
static inline int16_t alaw_round_trip(int16_t x)
{
    uint16_t sign = (uint16_t) (x >> 15);
    uint16_t m = (uint16_t) x ^ sign;
    uint16_t low = m >> 5;

    /* Every bit below the top one set: below the step, and 15 at least. */
    low |= low >> 1;
    low |= low >> 2;
    low |= low >> 4;
    low |= low >> 8;
    low |= 15;
    return (int16_t) ((((m & ~low) + ((low + 1) >> 1)) ^ sign) - sign);
}

/* A block of linear samples through a law's codec; in and out may be the same. */
static void codec(int law, const int16_t *in, int16_t *out)
{
    if (law == LAW_ALAW)
    {
        for (int i = 0; i < FRAME_SAMPLES; i++)
            out[i] = alaw_round_trip(in[i]);
    }
    else
    {
        for (int i = 0; i < FRAME_SAMPLES; i++)
            out[i] = ulaw_codec[ulaw_slot(in[i])];
    }
}

static board_sim_t *sim(board_t *b)
{
    return (board_sim_t *) b;
}

static sim_chan_t *chan(board_t *b, int ch)
{
    board_sim_t *s = sim(b);

    if (ch < 1 || ch > s->n || s->ch[ch].kind == KIND_NONE)
        return NULL;
    return &s->ch[ch];
}

static int push(board_t *b, int ch, int type, int a, int bval, const char *text)
{
    sim_chan_t *c = chan(b, ch);
    board_event_t *ev;

    if (c == NULL)
        return ERR_CHANNEL;
    if (c->count >= EVQ)
        return ERR_BOARD;   /* the engine drains every tick; a full queue is a bug */
    ev = &c->evq[(c->head + c->count) % EVQ];
    c->count++;
    sim(b)->queued++;
    ev->type = type;
    ev->a = a;
    ev->b = bval;
    ev->text[0] = '\0';
    if (text)
    {
        strncpy(ev->text, text, BOARD_TEXT_MAX - 1);
        ev->text[BOARD_TEXT_MAX - 1] = '\0';
    }
    return 0;
}

static int s_channels(board_t *b)
{
    return sim(b)->n;
}

static int s_kind(board_t *b, int ch)
{
    sim_chan_t *c = chan(b, ch);
    return c ? c->kind : KIND_NONE;
}

static int s_has_audio(board_t *b)
{
    return sim(b)->audio;
}

static int s_set_law(board_t *b, int ch, int law)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (law != LAW_ALAW && law != LAW_ULAW)
        return ERR_ARG;
    c->law = law;
    return 0;
}

static int s_read(board_t *b, int ch, uint8_t *block)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (!sim(b)->audio)
        return 0;
    c->read = 1;
    if (!c->rx_valid)
    {
        memset(block, (c->law == LAW_ALAW) ? 0xD5 : 0xFF, FRAME_SAMPLES);
        return FRAME_SAMPLES;
    }
    if (c->law == LAW_ALAW)
    {
        for (int i = 0; i < FRAME_SAMPLES; i++)
            block[i] = alaw_enc[alaw_slot(c->rx[i])];
    }
    else
    {
        for (int i = 0; i < FRAME_SAMPLES; i++)
            block[i] = ulaw_enc[ulaw_slot(c->rx[i])];
    }
    return FRAME_SAMPLES;
}

/* What s_read would code, decoded: the idle code when the line brought nothing. */
static int s_read_linear(board_t *b, int ch, int16_t *pcm)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (!sim(b)->audio)
        return 0;
    c->read = 1;
    if (!c->rx_valid)
    {
        const int16_t idle = g711_dec[c->law][(c->law == LAW_ALAW) ? 0xD5 : 0xFF];

        for (int i = 0; i < FRAME_SAMPLES; i++)
            pcm[i] = idle;
        return FRAME_SAMPLES;
    }
    codec(c->law, c->rx, pcm);
    return FRAME_SAMPLES;
}

static int s_write(board_t *b, int ch, const uint8_t *block)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (!sim(b)->audio)
        return 0;
    for (int i = 0; i < FRAME_SAMPLES; i++)
        c->tx[i] = g711_dec[c->law][block[i]];
    c->wrote = 1;
    return FRAME_SAMPLES;
}

static int s_write_linear(board_t *b, int ch, const int16_t *pcm)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (!sim(b)->audio)
        return 0;
    codec(c->law, pcm, c->tx);
    c->wrote = 1;
    return FRAME_SAMPLES;
}

static int s_hook(board_t *b, int ch, int op)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (c->alarm)
        return ERR_BOARD;
    if (KIND_IS_STATION(c->kind))
    {
        switch (op)
        {
        case HOOK_OFFHOOK:
            if (!c->offhook)
            {
                sim_chan_t *port = KIND_IS_PORT(c->kind) ? c : &sim(b)->ch[c->peer];

                /* A new call: what the canceller learnt of the last one may not hold
                   (DAHDI, too, starts it afresh when a call is answered). */
                if (port->ec)
                    echocan_reset(port->ec);
                c->offhook = 1;
                return push(b, c->peer, BEV_OFFHOOK, 0, 0, NULL);
            }
            return 0;
        case HOOK_ONHOOK:
            if (c->offhook)
            {
                c->offhook = 0;
                return push(b, c->peer, BEV_ONHOOK, 0, 0, NULL);
            }
            return 0;
        case HOOK_FLASH:
            return c->offhook ? push(b, c->peer, BEV_FLASH, 0, 0, NULL) : ERR_ARG;
        default:
            return ERR_ARG;
        }
    }
    switch (op)
    {
    case HOOK_RING:
        if (!c->ringing)
        {
            c->ringing = 1;
            return push(b, c->peer, BEV_RING_BEGIN, 0, 0, NULL);
        }
        return 0;
    case HOOK_RINGOFF:
        if (c->ringing)
        {
            c->ringing = 0;
            return push(b, c->peer, BEV_RING_END, 0, 0, NULL);
        }
        return 0;
    case HOOK_DISCONNECT:
    {
        int port = KIND_IS_PORT(c->kind) ? ch : c->peer;
        linemodel_t *lm = sim(b)->line_of[port];
        switch (lm->p.hangup_signal)
        {
        case HANGUP_LOOP_BREAK:
            return push(b, c->peer, BEV_LOOP_LOST, 0, 0, NULL);
        case HANGUP_POLARITY:
            return push(b, c->peer, BEV_POLARITY, 0, 0, NULL);
        default:
            return BOARD_NO_SIGNAL;
        }
    }
    default:
        return ERR_ARG;
    }
}

static int s_get_event(board_t *b, int ch, board_event_t *ev)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL || c->count == 0)
        return 0;
    *ev = c->evq[c->head];
    c->head = (c->head + 1) % EVQ;
    c->count--;
    sim(b)->queued--;
    return 1;
}

static int s_pending(board_t *b)
{
    return sim(b)->queued > 0;
}

static int s_oob(board_t *b, int ch, const board_event_t *ev)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (sim(b)->audio)
        return 0;
    return push(b, c->peer, ev->type, ev->a, ev->b, ev->text);
}

/* What a card does to a port's receive block before the engine reads it: its codec
   codes the line's signal, and DAHDI's canceller works on the decoded block with what
   the port sent as the reference (the block is coded again when read). */
static void cancel_echo(sim_chan_t *p, const int16_t *box_tx)
{
    codec(p->law, p->rx, p->rx);
    echocan_update(p->ec, box_tx, p->rx, FRAME_SAMPLES);
}

static void s_tick(board_t *b)
{
    board_sim_t *s = sim(b);

    if (!s->audio)
        return;
    for (int port = 1; port <= s->n; port++)
    {
        sim_chan_t *p = &s->ch[port];
        sim_chan_t *f;
        linemodel_t *lm = s->line_of[port];

        if (!KIND_IS_PORT(p->kind) || lm == NULL)
            continue;
        f = &s->ch[p->peer];
        /* A line nobody talks on or listens to costs nothing. */
        if (!p->wrote && !f->wrote && !p->read && !f->read)
        {
            p->rx_valid = f->rx_valid = 0;
            continue;
        }
        linemodel_to_box(lm, f->wrote ? f->tx : NULL, p->wrote ? p->tx : NULL, p->rx, FRAME_SAMPLES);
        linemodel_to_far(lm, p->wrote ? p->tx : NULL, f->rx, FRAME_SAMPLES);
        if (p->ec)
            cancel_echo(p, p->wrote ? p->tx : NULL);
        p->rx_valid = f->rx_valid = 1;
        p->wrote = f->wrote = p->read = f->read = 0;
    }
}

static void s_free(board_t *b)
{
    board_sim_t *s = sim(b);

    if (s == NULL)
        return;
    for (int i = 0; i <= s->n; i++)
    {
        linemodel_free(s->line_of[i]);
        if (s->ch)
            echocan_free(s->ch[i].ec);
    }
    free(s->line_of);
    free(s->ch);
    free(s);
}

static int s_echocan(board_t *b, int ch, int taps)
{
    sim_chan_t *c = chan(b, ch);
    echocan_t *ec = NULL;

    if (c == NULL)
        return ERR_CHANNEL;
    if (!KIND_IS_PORT(c->kind))
        return taps ? ERR_KIND : 0;
    if (taps && (ec = echocan_init(NULL, taps)) == NULL)
        return ERR_ARG;
    echocan_free(c->ec);
    c->ec = ec;
    return 0;
}

static const struct board_ops sim_ops =
{
    "sim", s_channels, s_kind, s_has_audio, s_set_law, s_read, s_write, s_hook,
    s_get_event, s_oob, s_tick, s_free, s_echocan, s_pending, s_read_linear, s_write_linear, NULL
};

board_t *board_sim_new(int nchannels, int audio)
{
    board_sim_t *s;

    if (nchannels < 2 || nchannels > 4096)
        return NULL;
    codec_tables();
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->base.ops = &sim_ops;
    s->n = nchannels;
    s->audio = audio ? 1 : 0;
    s->ch = calloc(nchannels + 1, sizeof(sim_chan_t));
    s->line_of = calloc(nchannels + 1, sizeof(linemodel_t *));
    if (s->ch == NULL || s->line_of == NULL)
    {
        s_free(&s->base);
        return NULL;
    }
    return &s->base;
}

int board_sim_connect(board_t *b, int port, int far, int port_kind, const line_params_t *p)
{
    board_sim_t *s = sim(b);
    linemodel_t *lm;

    if (port < 1 || port > s->n || far < 1 || far > s->n || port == far)
        return ERR_CHANNEL;
    if (s->ch[port].kind != KIND_NONE || s->ch[far].kind != KIND_NONE)
        return ERR_STATE;
    if (port_kind != KIND_FXO && port_kind != KIND_FXS)
        return ERR_KIND;
    if ((lm = linemodel_init(NULL, p, 0x9E3779B9u * (uint32_t) port)) == NULL)
        return ERR_ARG;
    s->line_of[port] = lm;
    s->ch[port].kind = port_kind;
    s->ch[far].kind = (port_kind == KIND_FXO) ? KIND_CO : KIND_PHONE;
    s->ch[port].peer = far;
    s->ch[far].peer = port;
    return 0;
}

int board_sim_set_line(board_t *b, int port, const line_params_t *p)
{
    board_sim_t *s = sim(b);
    linemodel_t *lm;

    if (port < 1 || port > s->n || (lm = s->line_of[port]) == NULL)
        return ERR_CHANNEL;
    if (line_params_check(p) < 0)
        return ERR_ARG;
    {
        int16_t history[LINE_ECHO_MAX];
        int hpos = lm->hpos;
        uint32_t seed = lm->seed;
        memcpy(history, lm->history, sizeof(history));
        linemodel_init(lm, p, seed);
        memcpy(lm->history, history, sizeof(history));
        lm->hpos = hpos;
    }
    return 0;
}

int board_sim_alarm(board_t *b, int ch, int on)
{
    sim_chan_t *c = chan(b, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    on = on ? 1 : 0;
    if (c->alarm == on)
        return 0;
    c->alarm = on;
    return push(b, ch, on ? BEV_ALARM : BEV_NOALARM, 0, 0, NULL);
}
