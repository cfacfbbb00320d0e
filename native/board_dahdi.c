#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <dahdi/user.h>

#include "common.h"
#include "board_dahdi.h"
#include "e1sig.h"
#include "g711.h"

/* When the machine has been held up, DAHDI's timing catches up in a burst, and so do
   the engine's ticks after it, paced by the same clock. What arrived meanwhile waits:
   DAHDI holds BUFFERS blocks of a channel's audio (E1SIG_R2_BUFFERS on an MFC/R2
   bearer), and the board as many for the engine; only beyond 320 ms is audio lost.
   Sent audio goes TX_AHEAD blocks ahead of the line at most: a tick catching up writes
   faster than the line carries it, and a deeper queue would delay every word after. */
#define BUFFERS 16
#define FIFO (BUFFERS > E1SIG_R2_BUFFERS ? BUFFERS : E1SIG_R2_BUFFERS)
#define TX_AHEAD 2
#define EVQ 16              /* events made here (E1 signalling, alarms found at open) */
#define DEBOUNCE_MS 2000    /* DAHDI's RING_DEBOUNCE_TIME */
#define MAX_SPANS 64
#define WAIT_MS 100         /* the longest tick() waits for the timer before it gives up */
#define R2_MAX_DIGITS 10    /* the caller's number and the dialled one, as Russian and Ukrainian
                               exchanges send them (a 10-digit national number) */

enum chan_mode
{
    MODE_ANALOG = 0,
    MODE_PRI = 1,
    MODE_R2 = 2
};

typedef struct
{
    int fd;
    int channo;
    int kind;
    int mode;
    int law;
    int far_hangup;
    int span;
    int chanpos;
    int e1;                 /* index into spans[], or -1 */
    int bearer;             /* the bearer's number on its span's signalling */
    int pri_event;          /* DAHDI said an event is waiting */
    char calling[24];       /* E1: the number a call placed here says it is from */
    int head, count;
    board_event_t evq[EVQ];
    int nfifo;
    int taken;              /* the engine read it this tick: its audio is in use */
    int station_offhook;    /* exchange side: the station it feeds is off-hook */
    uint8_t fifo[FIFO][FRAME_SAMPLES];
    struct timespec quiet_from; /* when its ring debounce ends */
} dchan_t;

typedef struct
{
    int span;
    int mode;
    int dchan_fd;
    e1sig_t *sig;
} dspan_t;

typedef struct
{
    board_t base;
    int n;
    dchan_t *ch;            /* 1..n */
    int timer;
    int nspans;
    dspan_t spans[MAX_SPANS];
    int waiting;            /* channels with events waiting, as last seen */
    long slips;
    void *emit_ctx[MAX_SPANS][2];   /* what e1_emit is handed: this board, the span */
    char err[160];
} board_dahdi_t;

static board_dahdi_t *of(board_t *b)
{
    return (board_dahdi_t *) b;
}

static int refuse(board_dahdi_t *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
    return ERR_BOARD;
}

static dchan_t *chan(board_dahdi_t *d, int ch)
{
    return (ch >= 1 && ch <= d->n) ? &d->ch[ch] : NULL;
}

static void push(dchan_t *c, const board_event_t *ev)
{
    if (c->count == EVQ)
    {
        /* The engine takes every event every tick: a full queue means nobody is running
           it. Keep the newest, which say what the channel is now. */
        c->head = (c->head + 1) % EVQ;
        c->count--;
    }
    c->evq[(c->head + c->count) % EVQ] = *ev;
    c->count++;
}

static void push_type(dchan_t *c, int type)
{
    board_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    push(c, &ev);
}

int board_dahdi_translate(int kind, int dahdi_event, board_event_t *out)
{
    memset(out, 0, sizeof(*out));
    if (dahdi_event & (DAHDI_EVENT_DTMFDOWN | DAHDI_EVENT_DTMFUP))
    {
        /* A card's own DTMF detector: the digit rides in the low bits. */
        out->type = (dahdi_event & DAHDI_EVENT_DTMFDOWN) ? BEV_DTMF_DOWN : BEV_DTMF_UP;
        out->text[0] = (char) (dahdi_event & 0xff);
        return 1;
    }
    if (dahdi_event & DAHDI_EVENT_PULSEDIGIT)
        return 0;       /* rotary dialling: no phone of an office dials that way to the box */
    switch (dahdi_event)
    {
    case DAHDI_EVENT_ALARM:
        out->type = BEV_ALARM;
        return 1;
    case DAHDI_EVENT_NOALARM:
        out->type = BEV_NOALARM;
        return 1;
    default:
        break;
    }
    if (KIND_IS_STATION(kind))
    {
        switch (dahdi_event)
        {
        case DAHDI_EVENT_RINGBEGIN:
            out->type = BEV_RING_BEGIN;
            return 1;
        case DAHDI_EVENT_RINGOFFHOOK:
            /* On a station port this is a ring burst that has ended. */
            out->type = BEV_RING_END;
            return 1;
        case DAHDI_EVENT_ONHOOK:
            /* Kewlstart: the exchange dropped the loop current, its caller is gone. */
            out->type = BEV_LOOP_LOST;
            return 1;
        case DAHDI_EVENT_POLARITY:
            out->type = BEV_POLARITY;
            return 1;
        default:
            return 0;
        }
    }
    switch (dahdi_event)
    {
    case DAHDI_EVENT_RINGOFFHOOK:
        out->type = BEV_OFFHOOK;
        return 1;
    case DAHDI_EVENT_ONHOOK:
        out->type = BEV_ONHOOK;
        return 1;
    case DAHDI_EVENT_WINKFLASH:
        out->type = BEV_FLASH;
        return 1;
    default:
        /* RINGERON/RINGEROFF (the ringer following the cadence), HOOKCOMPLETE (a ring or
           flash DAHDI carried out), DIALCOMPLETE, BITSCHANGED (R2's bits, which openr2
           reads itself): nothing the engine waits for. */
        return 0;
    }
}

static int law_code(int law)
{
    return law == LAW_ULAW ? DAHDI_LAW_MULAW : DAHDI_LAW_ALAW;
}

static void debounce_from_now(dchan_t *c)
{
    clock_gettime(CLOCK_MONOTONIC, &c->quiet_from);
    c->quiet_from.tv_sec += DEBOUNCE_MS / 1000;
    c->quiet_from.tv_nsec += (long) (DEBOUNCE_MS % 1000) * 1000000L;
    if (c->quiet_from.tv_nsec >= 1000000000L)
    {
        c->quiet_from.tv_sec++;
        c->quiet_from.tv_nsec -= 1000000000L;
    }
}

/* -- the ops ------------------------------------------------------------------------ */

static int op_channels(board_t *b)
{
    return of(b)->n;
}

static int op_kind(board_t *b, int ch)
{
    dchan_t *c = chan(of(b), ch);
    return c ? c->kind : KIND_NONE;
}

static int op_has_audio(board_t *b)
{
    (void) b;
    return 1;
}

static int op_set_law(board_t *b, int ch, int law)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);
    int code;

    if (c == NULL)
        return ERR_CHANNEL;
    if (law != LAW_ALAW && law != LAW_ULAW)
        return ERR_ARG;
    code = law_code(law);
    if (c->mode != MODE_R2 && ioctl(c->fd, DAHDI_SETLAW, &code) < 0)
        return refuse(d, "channel %d: DAHDI would not set its law: %s", c->channo, strerror(errno));
    c->law = law;
    return 0;
}

/* openr2 sets up the MFC/R2 bearers itself (e1sig_r2.c); every other channel here. */
static int set_buffers(int fd)
{
    struct dahdi_bufferinfo bi;

    memset(&bi, 0, sizeof(bi));
    bi.txbufpolicy = DAHDI_POLICY_IMMEDIATE;
    bi.rxbufpolicy = DAHDI_POLICY_IMMEDIATE;
    bi.numbufs = BUFFERS;
    bi.bufsize = FRAME_SAMPLES;
    return ioctl(fd, DAHDI_SET_BUFINFO, &bi);
}

/* How many blocks DAHDI has yet to send on the channel. */
static int queued(dchan_t *c)
{
    struct dahdi_bufferinfo bi;

    memset(&bi, 0, sizeof(bi));
    return ioctl(c->fd, DAHDI_GET_BUFINFO, &bi) < 0 ? 0 : bi.writebufs;
}

static int audio_now(board_dahdi_t *d, dchan_t *c)
{
    return c->e1 < 0 || e1sig_audio(d->spans[c->e1].sig, c->bearer);
}

/* Takes what DAHDI has for the channel into its fifo; the oldest block gives way, a
   slip when the engine is using the channel's audio. */
static void fill(board_dahdi_t *d, dchan_t *c, int in_use)
{
    uint8_t block[FRAME_SAMPLES];

    for (;;)
    {
        ssize_t got = read(c->fd, block, sizeof(block));
        if (got != FRAME_SAMPLES)
        {
            if (got < 0 && errno == ELAST)
                c->pri_event = 1, d->waiting = 1;
            return;
        }
        if (c->nfifo == FIFO)
        {
            memmove(c->fifo[0], c->fifo[1], (FIFO - 1) * FRAME_SAMPLES);
            c->nfifo--;
            d->slips += in_use;
        }
        memcpy(c->fifo[c->nfifo++], block, FRAME_SAMPLES);
    }
}

static int op_read(board_t *b, int ch, uint8_t *block)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);

    if (c == NULL || !audio_now(d, c))
        return 0;
    c->taken = 1;
    if (c->nfifo == 0)
        fill(d, c, 1);
    if (c->nfifo == 0)
        return 0;
    memcpy(block, c->fifo[0], FRAME_SAMPLES);
    memmove(c->fifo[0], c->fifo[1], (size_t) (c->nfifo - 1) * FRAME_SAMPLES);
    c->nfifo--;
    return FRAME_SAMPLES;
}

static int op_write(board_t *b, int ch, const uint8_t *block)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);

    if (c == NULL || !audio_now(d, c))
        return 0;
    /* A queue TX_AHEAD deep, a full buffer (EAGAIN) or an event waiting (ELAST) drops
       this block: the next frame's is as good, and waiting here would hold up every
       other channel. */
    if (queued(c) >= TX_AHEAD)
        return 0;
    if (write(c->fd, block, FRAME_SAMPLES) != FRAME_SAMPLES)
    {
        if (errno == ELAST)
            c->pri_event = 1, d->waiting = 1;
        return 0;
    }
    return FRAME_SAMPLES;
}

static int dahdi_hook(board_dahdi_t *d, dchan_t *c, int op, const char *what)
{
    int x = op;

    /* On a non-blocking channel a ring, flash or wink that DAHDI carries out over time
       answers EINPROGRESS: accepted, HOOKCOMPLETE follows. */
    if (ioctl(c->fd, DAHDI_HOOK, &x) < 0 && errno != EINPROGRESS)
        return refuse(d, "channel %d: DAHDI refused %s: %s", c->channo, what, strerror(errno));
    return 0;
}

static int op_hook(board_t *b, int ch, int op)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (c->e1 >= 0)
    {
        e1sig_t *s = d->spans[c->e1].sig;
        int rc;

        if (op == HOOK_DISCONNECT)
            op = HOOK_ONHOOK;
        if (op != HOOK_ONHOOK && op != HOOK_OFFHOOK)
            return 0;   /* an E1 line has no flash, and the network rings, not the box */
        if ((rc = e1sig_hook(s, c->bearer, op)) < 0)
            return refuse(d, "channel %d: %s", c->channo, e1sig_error(s));
        return 0;
    }
    switch (op)
    {
    case HOOK_ONHOOK:
        if (KIND_IS_STATION(c->kind))
            debounce_from_now(c);
        return dahdi_hook(d, c, DAHDI_ONHOOK, "on-hook");
    case HOOK_OFFHOOK:
        return dahdi_hook(d, c, DAHDI_OFFHOOK, "off-hook");
    case HOOK_FLASH:
        return dahdi_hook(d, c, DAHDI_FLASH, "a hook flash");
    case HOOK_RING:
        return dahdi_hook(d, c, DAHDI_RING, "ringing");
    case HOOK_RINGOFF:
        /* Answered: DAHDI stopped the ringing itself and feeds the loop. Its RINGOFF
           would put the line on-hook, and the kewlstart drop at the far end's hangup
           would never be sent. */
        if (c->station_offhook)
            return 0;
        return dahdi_hook(d, c, DAHDI_RINGOFF, "stopping the ringing");
    case HOOK_DISCONNECT:
        if (c->kind == KIND_CO && c->far_hangup == FAR_HANGUP_BUSY_TONE)
            return BOARD_NO_SIGNAL;
        /* Kewlstart: DAHDI drops the loop current for a moment, which the station
           sees as the far end gone. */
        return dahdi_hook(d, c, DAHDI_ONHOOK, "a disconnect");
    default:
        return ERR_ARG;
    }
}

static int op_dial(board_t *b, int ch, const char *digits)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);
    e1sig_t *s;

    if (c == NULL || c->e1 < 0)
        return 0;   /* an analog line dials with tones */
    s = d->spans[c->e1].sig;
    if (e1sig_dial(s, c->bearer, digits, c->calling) < 0)
        return refuse(d, "channel %d: %s", c->channo, e1sig_error(s));
    return 1;
}

static int op_get_event(board_t *b, int ch, board_event_t *ev)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);

    if (c == NULL)
        return 0;
    if (c->count)
    {
        *ev = c->evq[c->head];
        c->head = (c->head + 1) % EVQ;
        c->count--;
        return 1;
    }
    while (c->pri_event)
    {
        int x = 0;

        if (ioctl(c->fd, DAHDI_GETEVENT, &x) < 0 || x == DAHDI_EVENT_NONE)
        {
            c->pri_event = 0;
            return 0;
        }
        if (board_dahdi_translate(c->mode == MODE_ANALOG ? c->kind : KIND_FXO, x, ev))
        {
            if (ev->type == BEV_OFFHOOK || ev->type == BEV_ONHOOK)
                c->station_offhook = (ev->type == BEV_OFFHOOK);
            /* E1 calls come from the span's signalling; only alarms come from DAHDI. */
            if (c->mode != MODE_ANALOG && ev->type != BEV_ALARM && ev->type != BEV_NOALARM)
                continue;
            return 1;
        }
    }
    return 0;
}

static int op_oob(board_t *b, int ch, const board_event_t *ev)
{
    (void) b, (void) ch, (void) ev;
    return 0;
}

static int op_pending(board_t *b)
{
    board_dahdi_t *d = of(b);

    if (!d->waiting)
        return 0;
    for (int i = 1; i <= d->n; i++)
        if (d->ch[i].count || d->ch[i].pri_event)
            return 1;
    d->waiting = 0;
    return 0;
}

static void op_tick(board_t *b)
{
    board_dahdi_t *d = of(b);
    struct pollfd *p = NULL;
    struct pollfd stack[64];
    int n = d->n;

    /* The next 20 ms of the cards' clock. */
    if (d->timer >= 0)
    {
        struct pollfd t = {.fd = d->timer, .events = POLLPRI};
        if (poll(&t, 1, WAIT_MS) > 0)
        {
            int one = 1;
            ioctl(d->timer, DAHDI_TIMERACK, &one);
        }
    }
    for (int s = 0; s < d->nspans; s++)
        if (d->spans[s].sig)
            e1sig_run(d->spans[s].sig);
    p = (n <= 64) ? stack : malloc(sizeof(*p) * (size_t) n);
    if (p == NULL)
        return;
    for (int i = 0; i < n; i++)
    {
        p[i].fd = d->ch[i + 1].fd;
        p[i].events = POLLPRI;
        p[i].revents = 0;
    }
    if (poll(p, (nfds_t) n, 0) > 0)
    {
        for (int i = 0; i < n; i++)
            if (p[i].revents & POLLPRI)
            {
                d->ch[i + 1].pri_event = 1;
                d->waiting = 1;
            }
    }
    for (int i = 1; i <= n; i++)
    {
        if (d->ch[i].count)
            d->waiting = 1;
        /* Keep every channel's buffer drained, read or not: a call that begins hears
           this frame, not what the line carried seconds ago. */
        dchan_t *c = &d->ch[i];
        if (!c->taken && c->nfifo > 1)
        {
            memmove(c->fifo[0], c->fifo[c->nfifo - 1], FRAME_SAMPLES);
            c->nfifo = 1;
        }
        if (audio_now(d, c))
            fill(d, c, c->taken);
        c->taken = 0;
    }
    if (p != stack)
        free(p);
}

static int op_echocan(board_t *b, int ch, int taps)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);
    struct dahdi_echocanparams ecp;

    if (c == NULL)
        return ERR_CHANNEL;
    if (c->mode == MODE_R2 || !KIND_IS_PORT(c->kind))
        return 0;   /* far ends and R2's tone signalling want no canceller */
    memset(&ecp, 0, sizeof(ecp));
    ecp.tap_length = (uint32_t) taps;
    /* Off on a channel DAHDI gave no canceller is off already. */
    if (ioctl(c->fd, DAHDI_ECHOCANCEL_PARAMS, &ecp) < 0 && taps != 0)
        return refuse(d, "channel %d: DAHDI has no echo canceller for it (%s): system.conf needs "
                      "echocanceller= for the channel", c->channo, strerror(errno));
    return 0;
}

static void op_free(board_t *b)
{
    board_dahdi_t *d = of(b);

    for (int s = 0; s < d->nspans; s++)
    {
        if (d->spans[s].sig)
            e1sig_free(d->spans[s].sig);
        if (d->spans[s].dchan_fd >= 0)
            close(d->spans[s].dchan_fd);
    }
    for (int i = 1; i <= d->n; i++)
        if (d->ch[i].fd >= 0)
            close(d->ch[i].fd);
    if (d->timer >= 0)
        close(d->timer);
    free(d->ch);
    free(d);
}

static const struct board_ops dahdi_ops = {
    .name = "dahdi",
    .channels = op_channels,
    .kind = op_kind,
    .has_audio = op_has_audio,
    .set_law = op_set_law,
    .read = op_read,
    .write = op_write,
    .hook = op_hook,
    .get_event = op_get_event,
    .oob = op_oob,
    .tick = op_tick,
    .free = op_free,
    .echocan = op_echocan,
    .pending = op_pending,
    .dial = op_dial,
};

/* -- making one ----------------------------------------------------------------------- */

static int open_channel(const char *dev, int channo, char *err, size_t errlen)
{
    char path[256];
    int fd, x = channo;

    snprintf(path, sizeof(path), "%s/channel", dev);
    if ((fd = open(path, O_RDWR | O_NONBLOCK)) < 0)
    {
        snprintf(err, errlen, "%s: %s (are DAHDI's modules loaded and its spans configured?)", path,
                 strerror(errno));
        return -1;
    }
    if (ioctl(fd, DAHDI_SPECIFY, &x) < 0)
    {
        snprintf(err, errlen, "channel %d: DAHDI has no such channel, or it is in use (%s)", channo,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static const char *sig_name(int sig)
{
    switch (sig)
    {
    case DAHDI_SIG_FXSKS: return "fxsks";
    case DAHDI_SIG_FXSLS: return "fxsls";
    case DAHDI_SIG_FXOKS: return "fxoks";
    case DAHDI_SIG_FXOLS: return "fxols";
    case DAHDI_SIG_CLEAR: return "bchan (clear)";
    case DAHDI_SIG_CAS: return "cas";
    case DAHDI_SIG_HDLCFCS: return "dchan";
    case 0: return "nothing (not in system.conf)";
    default: return "another signalling";
    }
}

static const char *kind_name(int kind)
{
    switch (kind)
    {
    case KIND_FXO: return "an FXO port (a line from the exchange)";
    case KIND_FXS: return "an FXS port (an office phone)";
    case KIND_CO: return "the exchange side of a line";
    case KIND_PHONE: return "a phone";
    default: return "nothing";
    }
}

static int fits(int kind, int sig, int *mode)
{
    *mode = MODE_ANALOG;
    if (kind == KIND_FXO && (sig == DAHDI_SIG_CLEAR || sig == DAHDI_SIG_CAS))
    {
        *mode = (sig == DAHDI_SIG_CLEAR) ? MODE_PRI : MODE_R2;
        return 1;
    }
    if (KIND_IS_STATION(kind))
        return sig == DAHDI_SIG_FXSKS || sig == DAHDI_SIG_FXSLS;
    return sig == DAHDI_SIG_FXOKS || sig == DAHDI_SIG_FXOLS;
}

/* The D-channel of the span the channel is on: the HDLC channel among its neighbours. */
static int find_dchan(int ctl, const struct dahdi_params *bearer, int *dchan)
{
    struct dahdi_spaninfo si;
    int base = bearer->channo - bearer->chanpos + 1;

    memset(&si, 0, sizeof(si));
    si.spanno = bearer->spanno;
    if (ioctl(ctl, DAHDI_SPANSTAT, &si) < 0)
        return -1;
    for (int c = base; c < base + si.totalchans; c++)
    {
        struct dahdi_params p;

        memset(&p, 0, sizeof(p));
        p.channo = c;
        if (ioctl(ctl, DAHDI_GET_PARAMS, &p) == 0 && (p.sigtype & DAHDI_SIG_HDLCRAW) == DAHDI_SIG_HDLCRAW)
        {
            *dchan = c;
            return 0;
        }
    }
    return -1;
}

static int span_slot(board_dahdi_t *d, int span, int mode)
{
    for (int s = 0; s < d->nspans; s++)
        if (d->spans[s].span == span)
            return s;
    if (d->nspans == MAX_SPANS)
        return -1;
    d->spans[d->nspans].span = span;
    d->spans[d->nspans].mode = mode;
    d->spans[d->nspans].dchan_fd = -1;
    d->spans[d->nspans].sig = NULL;
    return d->nspans++;
}

static void e1_emit(void *user, int bearer, const board_event_t *ev)
{
    /* user is this board's emit_ctx for the span; bearer numbers count the board's
       channels on that span in order. */
    board_dahdi_t *d = (board_dahdi_t *) ((void **) user)[0];
    int span = (int) (intptr_t) ((void **) user)[1];
    int k = 0;

    for (int i = 1; i <= d->n; i++)
    {
        dchan_t *c = &d->ch[i];
        if (c->e1 == span && k++ == bearer)
        {
            push(c, ev);
            d->waiting = 1;
            return;
        }
    }
}

static int start_spans(board_dahdi_t *d, const char *dev, int ctl, const dahdi_chan_spec_t *spec,
                       char *err, size_t errlen)
{
    for (int s = 0; s < d->nspans; s++)
    {
        dspan_t *sp = &d->spans[s];
        int nb = 0, side = E1_USER;
        int ids[32], fds[32], chans[32];
        struct dahdi_params first;

        memset(&first, 0, sizeof(first));
        for (int i = 1; i <= d->n; i++)
        {
            dchan_t *c = &d->ch[i];
            if (c->e1 != s)
                continue;
            if (nb == 32)
            {
                snprintf(err, errlen, "span %d: more than 32 bearers", sp->span);
                return -1;
            }
            if (nb == 0)
            {
                first.channo = c->channo;
                first.spanno = c->span;
                first.chanpos = c->chanpos;
                side = spec[i - 1].e1_side;
            }
            c->bearer = nb;
            ids[nb] = c->chanpos;
            fds[nb] = c->fd;
            chans[nb] = c->channo;
            nb++;
        }
        d->emit_ctx[s][0] = d;
        d->emit_ctx[s][1] = (void *) (intptr_t) s;
        if (sp->mode == MODE_PRI)
        {
            int dchan, frame = 1024;

            if (find_dchan(ctl, &first, &dchan) < 0)
            {
                snprintf(err, errlen, "span %d: channel %d is an ISDN bearer but the span has no D-channel "
                         "(dchan= in system.conf)", sp->span, first.channo);
                return -1;
            }
            if ((sp->dchan_fd = open_channel(dev, dchan, err, errlen)) < 0)
                return -1;
            /* HDLC frames, whole: libpri reads one frame a read. */
            ioctl(sp->dchan_fd, DAHDI_SET_BLOCKSIZE, &frame);
            sp->sig = e1sig_pri_new(sp->dchan_fd, side == E1_NETWORK, nb, ids, e1_emit, d->emit_ctx[s], err, errlen);
        }
        else
        {
            sp->sig = e1sig_r2_new(nb, fds, chans, R2_MAX_DIGITS, R2_MAX_DIGITS, e1_emit, d->emit_ctx[s], err, errlen);
        }
        if (sp->sig == NULL)
            return -1;
    }
    return 0;
}

board_t *board_dahdi_new(const char *dev, const dahdi_chan_spec_t *spec, int n, char *err, size_t errlen)
{
    board_dahdi_t *d;
    char path[256];
    int ctl;

    if (n < 1)
    {
        snprintf(err, errlen, "the dahdi board needs at least one channel");
        return NULL;
    }
    g711_tables();
    snprintf(path, sizeof(path), "%s/ctl", dev);
    if ((ctl = open(path, O_RDWR)) < 0)
    {
        snprintf(err, errlen, "%s: %s (are DAHDI's modules loaded?)", path, strerror(errno));
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL || (d->ch = calloc((size_t) n + 1, sizeof(dchan_t))) == NULL)
    {
        free(d);
        close(ctl);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->base.ops = &dahdi_ops;
    d->n = n;
    d->timer = -1;
    for (int i = 1; i <= n; i++)
        d->ch[i].fd = -1;
    for (int i = 1; i <= n; i++)
    {
        dchan_t *c = &d->ch[i];
        struct dahdi_params p;

        c->channo = spec[i - 1].channo;
        c->kind = spec[i - 1].kind;
        c->far_hangup = spec[i - 1].far_hangup;
        c->e1 = -1;
        c->law = LAW_ALAW;
        for (int j = 1; j < i; j++)
            if (d->ch[j].channo == c->channo)
            {
                snprintf(err, errlen, "channel %d is given twice", c->channo);
                goto fail;
            }
        if ((c->fd = open_channel(dev, c->channo, err, errlen)) < 0)
            goto fail;
        debounce_from_now(c);
        memset(&p, 0, sizeof(p));
        if (ioctl(c->fd, DAHDI_GET_PARAMS, &p) < 0)
        {
            snprintf(err, errlen, "channel %d: DAHDI would not say what it is: %s", c->channo, strerror(errno));
            goto fail;
        }
        if (!fits(c->kind, p.sigtype, &c->mode))
        {
            snprintf(err, errlen, "channel %d (%s) is configured as %s in DAHDI, which does not fit %s",
                     c->channo, p.name, sig_name(p.sigtype), kind_name(c->kind));
            goto fail;
        }
        c->span = p.spanno;
        c->chanpos = p.chanpos;
        if (c->mode == MODE_PRI)
        {
            /* A B-channel carries bytes untouched until it is put in audio mode: then
               DAHDI's law, gains and echo canceller apply to it, as to an analog port. */
            int on = 1;
            if (ioctl(c->fd, DAHDI_AUDIOMODE, &on) < 0)
            {
                snprintf(err, errlen, "channel %d: DAHDI would not put the B-channel in audio mode: %s",
                         c->channo, strerror(errno));
                goto fail;
            }
        }
        if (c->mode != MODE_R2 && set_buffers(c->fd) < 0)
        {
            snprintf(err, errlen, "channel %d: DAHDI would not give it %d buffers of 20 ms: %s", c->channo, BUFFERS,
                     strerror(errno));
            goto fail;
        }
        if (c->mode != MODE_ANALOG && (c->e1 = span_slot(d, c->span, c->mode)) < 0)
        {
            snprintf(err, errlen, "channel %d: too many E1 spans", c->channo);
            goto fail;
        }
        if (c->e1 >= 0 && d->spans[c->e1].mode != c->mode)
        {
            snprintf(err, errlen, "span %d mixes ISDN bearers and MFC/R2 channels", c->span);
            goto fail;
        }
        if (p.chan_alarms)
            push_type(c, BEV_ALARM);
    }
    if (start_spans(d, dev, ctl, spec, err, errlen) < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/timer", dev);
    if ((d->timer = open(path, O_RDWR | O_NONBLOCK)) >= 0)
    {
        int samples = FRAME_SAMPLES;
        if (ioctl(d->timer, DAHDI_TIMERCONFIG, &samples) < 0)
        {
            snprintf(err, errlen, "%s: DAHDI would not tick every 20 ms: %s", path, strerror(errno));
            goto fail;
        }
    }
    else
    {
        snprintf(err, errlen, "%s: %s: DAHDI's timer paces the board", path, strerror(errno));
        goto fail;
    }
    d->waiting = 1;
    close(ctl);
    return &d->base;

fail:
    close(ctl);
    op_free(&d->base);
    return NULL;
}

int board_dahdi_gains(board_t *b, int ch, float rx_db, float tx_db)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);
    struct dahdi_gains g;
    float rx = powf(10.0f, rx_db / 20.0f), tx = powf(10.0f, tx_db / 20.0f);

    if (c == NULL)
        return ERR_CHANNEL;
    if (rx_db < -24.0f || rx_db > 24.0f || tx_db < -24.0f || tx_db > 24.0f)
        return refuse(d, "channel %d: gains go from -24 to 24 dB", c->channo);
    memset(&g, 0, sizeof(g));
    for (int code = 0; code < 256; code++)
    {
        int law = c->law;
        float x = (float) g711_dec[law][code];
        long r = lrintf(x * rx), t = lrintf(x * tx);

        r = r > 32767 ? 32767 : (r < -32768 ? -32768 : r);
        t = t > 32767 ? 32767 : (t < -32768 ? -32768 : t);
        g.rxgain[code] = law == LAW_ALAW ? alaw_enc[alaw_slot((int16_t) r)] : ulaw_enc[ulaw_slot((int16_t) r)];
        g.txgain[code] = law == LAW_ALAW ? alaw_enc[alaw_slot((int16_t) t)] : ulaw_enc[ulaw_slot((int16_t) t)];
    }
    if (ioctl(c->fd, DAHDI_SETGAINS, &g) < 0)
        return refuse(d, "channel %d: DAHDI would not set its gains: %s", c->channo, strerror(errno));
    return 0;
}

int board_dahdi_calling(board_t *b, int ch, const char *number)
{
    board_dahdi_t *d = of(b);
    dchan_t *c = chan(d, ch);

    if (c == NULL)
        return ERR_CHANNEL;
    if (number == NULL || strlen(number) >= sizeof(c->calling) || strspn(number, "0123456789") != strlen(number))
        return refuse(d, "channel %d: a calling number is up to %d digits", c->channo, (int) sizeof(c->calling) - 1);
    strcpy(c->calling, number);
    return 0;
}

int board_dahdi_settled(board_t *b)
{
    board_dahdi_t *d = of(b);
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (int i = 1; i <= d->n; i++)
    {
        const struct timespec *q = &d->ch[i].quiet_from;
        if (KIND_IS_STATION(d->ch[i].kind) && d->ch[i].mode == MODE_ANALOG
            && (now.tv_sec < q->tv_sec || (now.tv_sec == q->tv_sec && now.tv_nsec < q->tv_nsec)))
            return 0;
    }
    return 1;
}

long board_dahdi_slips(board_t *b)
{
    return of(b)->slips;
}

const char *board_dahdi_error(board_t *b)
{
    return of(b)->err;
}
