/*
 * ISDN PRI on an E1 span through libpri (EuroISDN, network or user side): the span's
 * D-channel carries Q.921/Q.931; each bearer is a B-channel known by its timeslot.
 *
 * Rules:
 *  - run() polls the D-channel without waiting and runs the timers that are due; libpri
 *    keeps wall-clock timers (Q.921 T200/T203, Q.931 T303/T305/T308...), so they run
 *    from run() as time passes.
 *  - Every call libpri hands over, or that dial() makes, ends with one pri_hangup() from
 *    here, after which libpri finishes the clearing and frees it: the bearer forgets the
 *    call at that moment.
 *  - A SETUP for a timeslot that is not one of the bearers is refused with cause 82
 *    (identified channel does not exist); for a bearer that is not idle, with cause 44
 *    (requested channel not available); when the network lets this side choose and no
 *    bearer is idle, with 34 (no circuit available).
 *  - The span is out of service (BEV_ALARM on every bearer, from the first run()) until
 *    the D-channel's layer 2 is up, and again when it goes down or the line under it
 *    is lost (a DAHDI alarm on the D-channel, or its descriptor hung up).
 *  - Frames pass whole, one read or write each: libpri writes each with two bytes more
 *    for the FCS, which the DAHDI driver fills in (HDLC-with-FCS mode), and reads each
 *    with the FCS's two bytes at its end, which it drops. Both ends of a D-channel
 *    that is not DAHDI's (a socket pair) thus agree with no FCS computed at all; the
 *    two bytes are written as zeros from here so that a frame's bytes are all set.
 *  - The D-channel is read here rather than by libpri's own reader, because DAHDI
 *    fails a read with ELAST when it has an event for the channel (an alarm), which
 *    must be fetched for reads to go on, and a descriptor that hung up is the line
 *    lost, not a frame.
 *  - libpri has no way to free a controller: at e1sig_free it is detached from the span
 *    and kept on a list of retired controllers for the life of the process.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <libpri.h>
#include <dahdi/user.h>

#include "common.h"
#include "e1sig_private.h"

/* The B-channel number in libpri's encoding of a channel (see libpri.h). */
#define PRI_TIMESLOT(c) ((c) & 0xff)
#define PRI_ANY_TIMESLOT 0xff
/* At most this many frames or timer expiries are handled a tick, so that a flood on the
   D-channel cannot hold up the engine's tick. */
#define MAX_WORK_PER_RUN 64
#define MAX_FRAME 1024

struct pri_bearer
{
    int timeslot;
    int state;
    q931_call *call;
};

typedef struct
{
    e1sig_t base;
    struct pri *pri;
    int fd;
    int network;
    int started;        /* the first run() has told the bearers the span is down */
    int dchan_up;       /* libpri's layer 2 is established */
    int alarmed;        /* the bearers were last told BEV_ALARM */
    int line_lost;      /* the D-channel's descriptor hung up or reported an alarm */
    struct pri_bearer b[];
} pri_sig_t;

struct retired_pri
{
    struct pri *pri;
    struct retired_pri *next;
};

static struct retired_pri *retired_controllers;

static const struct e1sig_ops pri_ops;

static void alarm_all(pri_sig_t *s, int alarm)
{
    if (s->alarmed == alarm)
        return;
    s->alarmed = alarm;
    for (int i = 0; i < s->base.nbearers; i++)
        e1sig_emit(&s->base, i, alarm ? BEV_ALARM : BEV_NOALARM, 0, NULL);
}

/* libpri's own words go to the span's error text, never to the terminal. */
static void pri_said(struct pri *pri, char *text)
{
    pri_sig_t *s = pri != NULL ? pri_get_userdata(pri) : NULL;
    size_t n;

    if (s == NULL || text == NULL)
        return;
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    if (n > 0)
        e1sig_fail(&s->base, 0, "PRI D-channel: %.*s", (int) n, text);
}

static void pri_said_nothing(struct pri *pri, char *text)
{
    (void) pri;
    (void) text;
}

static void lose_line(pri_sig_t *s, const char *why)
{
    if (!s->line_lost)
        e1sig_fail(&s->base, 0, "PRI D-channel: %s", why);
    s->line_lost = 1;
    s->dchan_up = 0;
    alarm_all(s, 1);
}

/* DAHDI reports line events on the D-channel by failing a read with ELAST. */
static void dahdi_event(pri_sig_t *s)
{
    int ev = 0;

    if (ioctl(s->fd, DAHDI_GETEVENT, &ev) < 0)
        return;
    if (ev == DAHDI_EVENT_ALARM)
        lose_line(s, "the span is in alarm");
    else if (ev == DAHDI_EVENT_NOALARM)
        s->line_lost = 0;   /* back in service once layer 2 is up again */
}

static int dchan_read(struct pri *pri, void *buf, int buflen)
{
    pri_sig_t *s = pri_get_userdata(pri);
    ssize_t n;

    if (s == NULL || s->line_lost)
        return 0;
    n = read(s->fd, buf, (size_t) buflen);
    if (n < 0)
    {
        if (errno == ELAST)
            dahdi_event(s);
        else if (errno != EAGAIN && errno != EINTR)
            lose_line(s, strerror(errno));
        return 0;
    }
    if (n == 0)
    {
        lose_line(s, "the line hung up");
        return 0;
    }
    /* The shortest frame is an address, a control byte and the FCS. */
    return n < 4 ? 0 : (int) n;
}

static int dchan_write(struct pri *pri, void *buf, int buflen)
{
    pri_sig_t *s = pri_get_userdata(pri);
    unsigned char frame[MAX_FRAME];
    ssize_t n;

    if (s == NULL || s->line_lost || buflen < 3 || buflen > MAX_FRAME)
        return 0;
    memcpy(frame, buf, (size_t) buflen - 2);
    frame[buflen - 2] = 0;
    frame[buflen - 1] = 0;
    n = write(s->fd, frame, (size_t) buflen);
    return n < 0 ? 0 : (int) n;
}

static int bearer_of_call(const pri_sig_t *s, const q931_call *call)
{
    if (call == NULL)
        return -1;
    for (int i = 0; i < s->base.nbearers; i++)
    {
        if (s->b[i].call == call)
            return i;
    }
    return -1;
}

static int bearer_of_timeslot(const pri_sig_t *s, int timeslot)
{
    for (int i = 0; i < s->base.nbearers; i++)
    {
        if (s->b[i].timeslot == timeslot)
            return i;
    }
    return -1;
}

static void refuse(pri_sig_t *s, q931_call *call, int cause, int timeslot, const char *why)
{
    e1sig_fail(&s->base, 0, "PRI: refused a call on timeslot %d (cause %d): %s", timeslot, cause, why);
    pri_hangup(s->pri, call, cause);
}

static void on_ring(pri_sig_t *s, const pri_event_ring *r)
{
    int asked = r->channel < 0 ? PRI_ANY_TIMESLOT : PRI_TIMESLOT(r->channel);
    int i = asked == PRI_ANY_TIMESLOT ? -1 : bearer_of_timeslot(s, asked);
    char calling[E1SIG_NUMBER_MAX + 1];
    char absence = ' ';
    int restriction = r->callingpres & PRI_PRES_RESTRICTION;

    if (i >= 0 && s->b[i].state != E1B_IDLE && !r->flexible)
    {
        refuse(s, r->call, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL, asked, "the bearer is busy");
        return;
    }
    if (i < 0 && asked != PRI_ANY_TIMESLOT && !r->flexible)
    {
        refuse(s, r->call, PRI_CAUSE_IDENTIFIED_CHANNEL_NOTEXIST, asked, "no bearer has that timeslot");
        return;
    }
    if (i < 0 || s->b[i].state != E1B_IDLE)
    {
        /* The far end lets this side choose. */
        for (i = 0; i < s->base.nbearers && s->b[i].state != E1B_IDLE; i++)
            ;
        if (i == s->base.nbearers)
        {
            refuse(s, r->call, PRI_CAUSE_NORMAL_CIRCUIT_CONGESTION, asked, "no bearer is idle");
            return;
        }
    }
    s->b[i].call = r->call;
    s->b[i].state = E1B_OFFERED;
    /* Call proceeding names the timeslot taken; alerting says the board rings. */
    pri_proceeding(s->pri, r->call, s->b[i].timeslot, 0);
    pri_acknowledge(s->pri, r->call, s->b[i].timeslot, 0);

    snprintf(calling, sizeof(calling), "%.*s", E1SIG_NUMBER_MAX, r->callingnum);
    if (restriction == PRI_PRES_RESTRICTED)
    {
        /* Withheld: the number goes no further than the network meant it to. */
        absence = 'P';
        calling[0] = '\0';
    }
    else if (calling[0] == '\0' || restriction == PRI_PRES_UNAVAILABLE)
    {
        absence = 'O';
        calling[0] = '\0';
    }
    e1sig_emit_offer(&s->base, i, calling, absence, r->callednum);
}

/* The far end cleared the call on bearer i (or failed it, before an answer). */
static void far_cleared(pri_sig_t *s, int i, int cause)
{
    struct pri_bearer *b = &s->b[i];
    q931_call *call = b->call;
    int was = b->state;

    b->call = NULL;
    b->state = was == E1B_OFFERED ? E1B_IDLE : E1B_PARKED;
    pri_hangup(s->pri, call, cause > 0 ? cause : PRI_CAUSE_NORMAL_CLEARING);
    if (was == E1B_DIALING)
        e1sig_emit(&s->base, i, BEV_CLEARED, cause, NULL);
    else
        e1sig_emit(&s->base, i, BEV_LOOP_LOST, 0, NULL);
}

static void on_restart(pri_sig_t *s, int channel)
{
    int ts = channel < 0 ? PRI_ANY_TIMESLOT : PRI_TIMESLOT(channel);

    /* RESTART resets the timeslot: a call on it is gone without clearing. */
    for (int i = 0; i < s->base.nbearers; i++)
    {
        struct pri_bearer *b = &s->b[i];
        int was = b->state;

        if ((ts != PRI_ANY_TIMESLOT && b->timeslot != ts) || b->call == NULL)
            continue;
        pri_destroycall(s->pri, b->call);
        b->call = NULL;
        b->state = was == E1B_OFFERED ? E1B_IDLE : E1B_PARKED;
        if (was == E1B_DIALING)
            e1sig_emit(&s->base, i, BEV_CLEARED, PRI_CAUSE_NORMAL_TEMPORARY_FAILURE, NULL);
        else
            e1sig_emit(&s->base, i, BEV_LOOP_LOST, 0, NULL);
    }
}

static void handle(pri_sig_t *s, const pri_event *e)
{
    int i;

    switch (e->e)
    {
    case PRI_EVENT_DCHAN_UP:
        s->dchan_up = 1;
        s->line_lost = 0;
        alarm_all(s, 0);
        break;
    case PRI_EVENT_DCHAN_DOWN:
        s->dchan_up = 0;
        alarm_all(s, 1);
        break;
    case PRI_EVENT_RING:
        on_ring(s, &e->ring);
        break;
    case PRI_EVENT_ANSWER:
        i = bearer_of_call(s, e->answer.call);
        if (i >= 0 && s->b[i].state == E1B_DIALING)
        {
            s->b[i].state = E1B_UP;
            e1sig_emit(&s->base, i, BEV_ANSWERED, 0, NULL);
        }
        break;
    case PRI_EVENT_HANGUP_REQ:
    case PRI_EVENT_HANGUP:
        i = bearer_of_call(s, e->hangup.call);
        if (i >= 0)
            far_cleared(s, i, e->hangup.cause);
        break;
    case PRI_EVENT_HANGUP_ACK:
        /* A call this side hung up finished clearing; it was forgotten then. */
        i = bearer_of_call(s, e->hangup.call);
        if (i >= 0)
            s->b[i].call = NULL;
        break;
    case PRI_EVENT_RESTART:
        on_restart(s, e->restart.channel);
        break;
    default:
        break;
    }
}

static void pri_run(e1sig_t *base)
{
    pri_sig_t *s = (pri_sig_t *) base;
    int work = 0;

    if (!s->started)
    {
        s->started = 1;
        if (!s->dchan_up)
            alarm_all(s, 1);
    }
    while (work++ < MAX_WORK_PER_RUN && !s->line_lost)
    {
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        pri_event *e;

        if (poll(&p, 1, 0) <= 0)
            break;
        if (!(p.revents & (POLLIN | POLLPRI)))
        {
            lose_line(s, (p.revents & POLLNVAL) ? "the descriptor is not open" : "the line hung up");
            break;
        }
        if ((e = pri_check_event(s->pri)) != NULL)
            handle(s, e);
    }
    while (work++ < MAX_WORK_PER_RUN)
    {
        struct timeval *next = pri_schedule_next(s->pri);
        struct timeval now;
        pri_event *e;

        gettimeofday(&now, NULL);
        if (next == NULL || timercmp(next, &now, >))
            break;
        if ((e = pri_schedule_run(s->pri)) != NULL)
            handle(s, e);
    }
}

static int pri_hook(e1sig_t *base, int bearer, int op)
{
    pri_sig_t *s = (pri_sig_t *) base;
    struct pri_bearer *b = &s->b[bearer];

    if (op == HOOK_OFFHOOK)
    {
        if (b->state == E1B_IDLE)
            b->state = E1B_TAKEN;
        else if (b->state == E1B_OFFERED)
        {
            if (pri_answer(s->pri, b->call, b->timeslot, 0) != 0)
                return e1sig_fail(base, ERR_BOARD, "PRI bearer %d (timeslot %d): libpri would not answer the call",
                                  bearer, b->timeslot);
            b->state = E1B_UP;
        }
        return 0;
    }
    if (b->call != NULL)
        pri_hangup(s->pri, b->call, PRI_CAUSE_NORMAL_CLEARING);
    b->call = NULL;
    b->state = E1B_IDLE;
    return 0;
}

static int pri_dial(e1sig_t *base, int bearer, const char *called, const char *calling)
{
    pri_sig_t *s = (pri_sig_t *) base;
    struct pri_bearer *b = &s->b[bearer];
    char called_buf[E1SIG_NUMBER_MAX + 1];
    char calling_buf[E1SIG_NUMBER_MAX + 1];
    struct pri_sr *sr;
    q931_call *call;
    int rc;

    if (b->state != E1B_IDLE && b->state != E1B_TAKEN)
        return e1sig_fail(base, ERR_STATE, "PRI bearer %d (timeslot %d) is %s", bearer, b->timeslot,
                          e1sig_state_name(b->state));
    if (!s->dchan_up)
        return e1sig_fail(base, ERR_STATE, "PRI bearer %d (timeslot %d): the D-channel is down", bearer,
                          b->timeslot);
    if ((call = pri_new_call(s->pri)) == NULL)
        return e1sig_fail(base, ERR_NOMEM, "PRI bearer %d (timeslot %d): no call reference free", bearer,
                          b->timeslot);
    if ((sr = pri_sr_new()) == NULL)
    {
        pri_destroycall(s->pri, call);
        return e1sig_fail(base, ERR_NOMEM, "PRI bearer %d: out of memory", bearer);
    }
    snprintf(called_buf, sizeof(called_buf), "%s", called);
    snprintf(calling_buf, sizeof(calling_buf), "%s", calling);
    /* Exclusive: this timeslot or none, so both ends agree on the bearer. */
    pri_sr_set_channel(sr, b->timeslot, 1, 0);
    pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
    pri_sr_set_called(sr, called_buf, PRI_UNKNOWN, 1);
    if (calling_buf[0] != '\0')
        pri_sr_set_caller(sr, calling_buf, NULL, PRI_UNKNOWN, PRI_PRES_ALLOWED | PRI_PRES_USER_NUMBER_UNSCREENED);
    else
        pri_sr_set_caller(sr, NULL, NULL, PRI_UNKNOWN, PRI_PRES_UNAVAILABLE | PRI_PRES_NETWORK_NUMBER);
    rc = pri_setup(s->pri, call, sr);
    pri_sr_free(sr);
    if (rc != 0)
    {
        pri_destroycall(s->pri, call);
        return e1sig_fail(base, ERR_BOARD, "PRI bearer %d (timeslot %d): libpri would not send the SETUP", bearer,
                          b->timeslot);
    }
    b->call = call;
    b->state = E1B_DIALING;
    return 0;
}

static int pri_audio(const e1sig_t *base, int bearer)
{
    /* Q.931 keeps to the D-channel: a B-channel's audio is always the board's. */
    (void) base;
    (void) bearer;
    return 1;
}

static void pri_free_span(e1sig_t *base)
{
    pri_sig_t *s = (pri_sig_t *) base;
    struct retired_pri *r = malloc(sizeof(*r));

    for (int i = 0; i < base->nbearers; i++)
    {
        if (s->b[i].call != NULL)
            pri_hangup(s->pri, s->b[i].call, PRI_CAUSE_NORMAL_CLEARING);
    }
    /* Detached: the callbacks see no span, read nothing and write nothing. */
    pri_set_userdata(s->pri, NULL);
    if (r != NULL)
    {
        r->pri = s->pri;
        r->next = retired_controllers;
        retired_controllers = r;
    }
    free(s);
}

static const struct e1sig_ops pri_ops = {
    .name = "PRI",
    .run = pri_run,
    .hook = pri_hook,
    .dial = pri_dial,
    .audio = pri_audio,
    .free = pri_free_span,
};

e1sig_t *e1sig_pri_new(int dchan_fd, int network, int nbearers, const int *timeslots,
                       e1sig_emit_fn emit, void *user, char *err, size_t errlen)
{
    pri_sig_t *s;

    if (dchan_fd < 0)
    {
        e1sig_new_error(err, errlen, "PRI: no D-channel (descriptor %d)", dchan_fd);
        return NULL;
    }
    if (nbearers < 1 || nbearers > 30 || timeslots == NULL)
    {
        e1sig_new_error(err, errlen, "PRI: an E1 span has 1 to 30 bearers, not %d", nbearers);
        return NULL;
    }
    for (int i = 0; i < nbearers; i++)
    {
        if (timeslots[i] < 1 || timeslots[i] > 31 || timeslots[i] == 16)
        {
            e1sig_new_error(err, errlen, "PRI bearer %d: timeslot %d is not a B-channel of an E1 "
                            "(1-15, 17-31)", i, timeslots[i]);
            return NULL;
        }
        for (int j = 0; j < i; j++)
        {
            if (timeslots[j] == timeslots[i])
            {
                e1sig_new_error(err, errlen, "PRI bearers %d and %d both have timeslot %d", j, i, timeslots[i]);
                return NULL;
            }
        }
    }
    if ((s = calloc(1, sizeof(*s) + (size_t) nbearers * sizeof(s->b[0]))) == NULL)
    {
        e1sig_new_error(err, errlen, "PRI: out of memory");
        return NULL;
    }
    e1sig_init(&s->base, &pri_ops, nbearers, emit, user);
    s->fd = dchan_fd;
    s->network = network ? 1 : 0;
    for (int i = 0; i < nbearers; i++)
        s->b[i].timeslot = timeslots[i];
    /* libpri prints to the terminal unless told otherwise; its errors are kept for
       e1sig_error() and its debugging chatter dropped. */
    pri_set_error(pri_said);
    pri_set_message(pri_said_nothing);
    s->pri = pri_new_cb(dchan_fd, s->network ? PRI_NETWORK : PRI_CPE, PRI_SWITCH_EUROISDN_E1, dchan_read,
                        dchan_write, s);
    if (s->pri == NULL)
    {
        e1sig_new_error(err, errlen, "PRI: libpri could not start on descriptor %d", dchan_fd);
        free(s);
        return NULL;
    }
    return &s->base;
}
