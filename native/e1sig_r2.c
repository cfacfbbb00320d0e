/*
 * MFC/R2 on an E1 span's bearers through openr2 (the ITU variant): line signalling in
 * each timeslot's CAS bits, register signalling (the numbers, the call's acceptance) in
 * multifrequency tones on the bearer's own audio.
 *
 * Rules:
 *  - openr2 drives the DAHDI channel itself (its CAS bits, its audio while the tones
 *    are exchanged) through the descriptor the board opened; run() lets it handle what
 *    is pending on each bearer without waiting.
 *  - audio() is false from the seizure until the call is accepted: the tones are
 *    openr2's. From the acceptance on, openr2 stops reading and the audio is the
 *    board's (ringback, then speech).
 *  - An offered call is accepted (with charge) as soon as the board has its events; an
 *    answer the board gives before the acceptance completes waits for it.
 *  - openr2's causes reach BEV_CLEARED as the Q.850 causes PRI would give, so the
 *    board sees one set of causes whatever the span's protocol.
 *  - openr2 prints nothing: its log (errors and warnings only) is kept for
 *    e1sig_error().
 *  - A tone openr2 sends survives the machine being held up for 300 ms
 *    (E1SIG_R2_BUFFERS).
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <dahdi/user.h>
#include <openr2.h>

#include "common.h"
#include "e1sig_private.h"

/* Q.850 cause values, as libpri names them. */
#define Q850_UNALLOCATED 1
#define Q850_NORMAL_CLEARING 16
#define Q850_USER_BUSY 17
#define Q850_NO_ANSWER 19
#define Q850_CALL_REJECTED 21
#define Q850_NUMBER_CHANGED 22
#define Q850_OUT_OF_ORDER 27
#define Q850_NORMAL_UNSPECIFIED 31
#define Q850_CONGESTION 34
#define Q850_PROTOCOL_ERROR 111

#define R2_LOG_LEVELS ((openr2_log_level_t) (OR2_LOG_ERROR | OR2_LOG_WARNING))

/* E1SIG_R2_BUFFERS: openr2 gives a channel it takes four 20 ms buffers each way, and
   keeps all of them full while a tone is on (flushing them at its end; it writes
   nothing between tones). When the machine has been held up, DAHDI catches up in a
   burst: the buffers run dry before openr2 can refill them, and the far end hears a gap
   in the tone, takes it for the tone's end and the same tone after it for the next
   signal (a digit too many or too few, or a call lost to a broken sequence). Sixteen
   ride out 320 ms and delay nothing. */

typedef struct r2_sig_s r2_sig_t;

struct r2_bearer
{
    r2_sig_t *span;
    int index;
    int channo;
    openr2_chan_t *chan;
    int state;
    int busy;           /* openr2 has a call on the channel, until on_call_end */
    int mf;             /* the tones are using the channel's audio */
    int accepted;       /* the call reached its acceptance (the end of the tones) */
    int answer_pending; /* the board answered before the acceptance */
    int disconnecting;  /* this side has sent its clear */
};

struct r2_sig_s
{
    e1sig_t base;
    openr2_context_t *ctx;
    /* openr2 keeps a pointer to this and fills in what is missing: it lives as long
       as the context. */
    openr2_event_interface_t events;
    struct r2_bearer b[];
};

static r2_sig_t *building;  /* the span being made, for log lines before its channels */

static struct r2_bearer *bearer_of(openr2_chan_t *chan)
{
    return openr2_chan_get_client_data(chan);
}

static void keep_log(r2_sig_t *s, int channo, openr2_log_level_t level, const char *fmt, va_list ap)
{
    char text[E1SIG_ERROR_MAX];
    size_t n;

    if (s == NULL || !(level & R2_LOG_LEVELS))
        return;
    vsnprintf(text, sizeof(text), fmt, ap);
    n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (channo > 0)
        e1sig_fail(&s->base, 0, "MFC/R2 DAHDI channel %d: %s", channo, text);
    else
        e1sig_fail(&s->base, 0, "MFC/R2: %s", text);
}

static void chan_log(openr2_chan_t *chan, openr2_log_level_t level, const char *fmt, va_list ap)
{
    struct r2_bearer *b = bearer_of(chan);

    if (b != NULL)
        keep_log(b->span, b->channo, level, fmt, ap);
}

static void context_log(openr2_context_t *ctx, openr2_log_level_t level, const char *fmt, va_list ap)
{
    (void) ctx;
    keep_log(building, 0, level, fmt, ap);
}

static int q850(openr2_call_disconnect_cause_t cause)
{
    switch (cause)
    {
    case OR2_CAUSE_BUSY_NUMBER:
        return Q850_USER_BUSY;
    case OR2_CAUSE_NETWORK_CONGESTION:
        return Q850_CONGESTION;
    case OR2_CAUSE_UNALLOCATED_NUMBER:
        return Q850_UNALLOCATED;
    case OR2_CAUSE_OUT_OF_ORDER:
        return Q850_OUT_OF_ORDER;
    case OR2_CAUSE_NO_ANSWER:
        return Q850_NO_ANSWER;
    case OR2_CAUSE_NORMAL_CLEARING:
    case OR2_CAUSE_FORCED_RELEASE:
        return Q850_NORMAL_CLEARING;
    case OR2_CAUSE_COLLECT_CALL_REJECTED:
        return Q850_CALL_REJECTED;
    case OR2_CAUSE_NUMBER_CHANGED:
        return Q850_NUMBER_CHANGED;
    default:
        return Q850_NORMAL_UNSPECIFIED;
    }
}

/* The call on bearer b ended from the far end's side (cause: Q.850). */
static void far_end_gone(struct r2_bearer *b, int cause)
{
    int was = b->state;

    b->mf = 0;
    b->answer_pending = 0;
    if (was == E1B_OFFERED)
        b->state = E1B_IDLE;
    else if (was == E1B_DIALING || was == E1B_UP)
        b->state = E1B_PARKED;
    if (was == E1B_DIALING)
        e1sig_emit(&b->span->base, b->index, BEV_CLEARED, cause, NULL);
    else if (was == E1B_OFFERED || was == E1B_UP)
        e1sig_emit(&b->span->base, b->index, BEV_LOOP_LOST, 0, NULL);
}

static void on_call_init(openr2_chan_t *chan)
{
    struct r2_bearer *b = bearer_of(chan);

    /* Seized by the far end: the tones follow on the channel's audio. */
    b->busy = 1;
    b->mf = 1;
    b->accepted = 0;
    b->disconnecting = 0;
    openr2_chan_enable_read(chan);
}

static void on_call_offered(openr2_chan_t *chan, const char *ani, const char *dnis,
                            openr2_calling_party_category_t category)
{
    struct r2_bearer *b = bearer_of(chan);
    char calling[E1SIG_NUMBER_MAX + 1];

    (void) category;
    if (b->state != E1B_IDLE)
    {
        /* The board has not hung up the last call on this bearer: busy. */
        b->disconnecting = 1;
        openr2_chan_disconnect_call(chan, OR2_CAUSE_BUSY_NUMBER);
        return;
    }
    snprintf(calling, sizeof(calling), "%s", ani != NULL ? ani : "");
    b->state = E1B_OFFERED;
    e1sig_emit_offer(&b->span->base, b->index, calling, calling[0] ? ' ' : 'O', dnis != NULL ? dnis : "");
    if (b->state == E1B_OFFERED || b->state == E1B_UP)
        openr2_chan_accept_call(chan, OR2_CALL_WITH_CHARGE);
}

static void on_call_accepted(openr2_chan_t *chan, openr2_call_mode_t mode)
{
    struct r2_bearer *b = bearer_of(chan);

    (void) mode;
    /* The tones are over: the channel's audio is the board's from here. */
    b->accepted = 1;
    b->mf = 0;
    openr2_chan_disable_read(chan);
    if (b->answer_pending)
    {
        b->answer_pending = 0;
        openr2_chan_answer_call(chan);
    }
}

static void on_call_answered(openr2_chan_t *chan)
{
    struct r2_bearer *b = bearer_of(chan);

    b->mf = 0;
    if (b->state == E1B_DIALING)
    {
        b->state = E1B_UP;
        e1sig_emit(&b->span->base, b->index, BEV_ANSWERED, 0, NULL);
    }
}

static void on_call_disconnect(openr2_chan_t *chan, openr2_call_disconnect_cause_t cause)
{
    struct r2_bearer *b = bearer_of(chan);

    far_end_gone(b, q850(cause));
    /* The clearing completes with this side's clear-back. */
    if (!b->disconnecting)
    {
        b->disconnecting = 1;
        openr2_chan_disconnect_call(chan, OR2_CAUSE_NORMAL_CLEARING);
    }
}

static void on_call_end(openr2_chan_t *chan)
{
    struct r2_bearer *b = bearer_of(chan);

    b->busy = 0;
    b->mf = 0;
    b->accepted = 0;
    b->answer_pending = 0;
    b->disconnecting = 0;
    openr2_chan_disable_read(chan);
}

static void on_call_read(openr2_chan_t *chan, const unsigned char *buf, int buflen)
{
    /* openr2 does not read once a call is accepted: the board reads the audio. */
    (void) chan;
    (void) buf;
    (void) buflen;
}

static void on_hardware_alarm(openr2_chan_t *chan, int alarm)
{
    struct r2_bearer *b = bearer_of(chan);

    e1sig_emit(&b->span->base, b->index, alarm ? BEV_ALARM : BEV_NOALARM, 0, NULL);
}

static void on_os_error(openr2_chan_t *chan, int errorcode)
{
    struct r2_bearer *b = bearer_of(chan);

    e1sig_fail(&b->span->base, 0, "MFC/R2 bearer %d (DAHDI channel %d): %s", b->index, b->channo,
               strerror(errorcode));
}

static void on_protocol_error(openr2_chan_t *chan, openr2_protocol_error_t error)
{
    struct r2_bearer *b = bearer_of(chan);

    e1sig_fail(&b->span->base, 0, "MFC/R2 bearer %d (DAHDI channel %d): protocol error: %s", b->index, b->channo,
               openr2_proto_get_error(error));
    /* openr2 has given the call up and returns the channel to idle. */
    far_end_gone(b, Q850_PROTOCOL_ERROR);
    b->busy = 0;
    b->disconnecting = 0;
}

static void on_line_blocked(openr2_chan_t *chan)
{
    struct r2_bearer *b = bearer_of(chan);

    /* The far end takes the timeslot out of service. */
    e1sig_emit(&b->span->base, b->index, BEV_ALARM, 0, NULL);
}

static void on_line_idle(openr2_chan_t *chan)
{
    struct r2_bearer *b = bearer_of(chan);

    e1sig_emit(&b->span->base, b->index, BEV_NOALARM, 0, NULL);
}

static int on_dnis_digit_received(openr2_chan_t *chan, char digit)
{
    /* Up to the span's max_dnis digits, as openr2 counts them. */
    (void) chan;
    (void) digit;
    return 1;
}

static void on_ani_digit_received(openr2_chan_t *chan, char digit)
{
    (void) chan;
    (void) digit;
}

static void on_billing_pulse_received(openr2_chan_t *chan)
{
    (void) chan;
}

static void r2_run(e1sig_t *base)
{
    r2_sig_t *s = (r2_sig_t *) base;

    for (int i = 0; i < base->nbearers; i++)
        openr2_chan_process_event(s->b[i].chan);
}

static int r2_hook(e1sig_t *base, int bearer, int op)
{
    r2_sig_t *s = (r2_sig_t *) base;
    struct r2_bearer *b = &s->b[bearer];

    if (op == HOOK_OFFHOOK)
    {
        if (b->state == E1B_IDLE)
            b->state = E1B_TAKEN;
        else if (b->state == E1B_OFFERED)
        {
            b->state = E1B_UP;
            if (!b->accepted)
                b->answer_pending = 1;
            else if (openr2_chan_answer_call(b->chan) != 0)
                return e1sig_fail(base, ERR_BOARD, "MFC/R2 bearer %d (DAHDI channel %d): openr2 would not answer "
                                  "the call", bearer, b->channo);
        }
        return 0;
    }
    if ((b->state == E1B_OFFERED || b->state == E1B_DIALING || b->state == E1B_UP) && b->busy && !b->disconnecting)
    {
        b->disconnecting = 1;
        openr2_chan_disconnect_call(b->chan, OR2_CAUSE_NORMAL_CLEARING);
    }
    b->state = E1B_IDLE;
    b->answer_pending = 0;
    return 0;
}

static int r2_dial(e1sig_t *base, int bearer, const char *called, const char *calling)
{
    r2_sig_t *s = (r2_sig_t *) base;
    struct r2_bearer *b = &s->b[bearer];

    if ((b->state != E1B_IDLE && b->state != E1B_TAKEN) || b->busy)
        return e1sig_fail(base, ERR_STATE, "MFC/R2 bearer %d (DAHDI channel %d) is %s", bearer, b->channo,
                          b->busy && b->state == E1B_IDLE ? "still clearing the last call"
                          : e1sig_state_name(b->state));
    b->busy = 1;
    b->mf = 1;
    b->accepted = 0;
    b->disconnecting = 0;
    openr2_chan_enable_read(b->chan);
    if (openr2_chan_make_call(b->chan, calling, called, OR2_CALLING_PARTY_CATEGORY_NATIONAL_SUBSCRIBER) != 0)
    {
        b->busy = 0;
        b->mf = 0;
        openr2_chan_disable_read(b->chan);
        return e1sig_fail(base, ERR_BOARD, "MFC/R2 bearer %d (DAHDI channel %d): openr2 would not seize the line",
                          bearer, b->channo);
    }
    b->state = E1B_DIALING;
    return 0;
}

static int r2_audio(const e1sig_t *base, int bearer)
{
    const r2_sig_t *s = (const r2_sig_t *) base;

    return !s->b[bearer].mf;
}

static void r2_free(e1sig_t *base)
{
    r2_sig_t *s = (r2_sig_t *) base;

    for (int i = 0; i < base->nbearers; i++)
    {
        if (s->b[i].chan == NULL)
            continue;
        if (s->b[i].busy && !s->b[i].disconnecting)
            openr2_chan_disconnect_call(s->b[i].chan, OR2_CAUSE_NORMAL_CLEARING);
    }
    /* The context deletes its channels itself (deleting one first frees it twice); the
       descriptors stay open: they are the board's. */
    if (s->ctx != NULL)
        openr2_context_delete(s->ctx);
    free(s);
}

static const struct e1sig_ops r2_ops = {
    .name = "MFC/R2",
    .run = r2_run,
    .hook = r2_hook,
    .dial = r2_dial,
    .audio = r2_audio,
    .free = r2_free,
};

static int deepen(int fd)
{
    struct dahdi_bufferinfo bi;

    memset(&bi, 0, sizeof(bi));
    if (ioctl(fd, DAHDI_GET_BUFINFO, &bi) < 0)
        return -1;
    bi.numbufs = E1SIG_R2_BUFFERS;
    return ioctl(fd, DAHDI_SET_BUFINFO, &bi);
}

e1sig_t *e1sig_r2_new(int nbearers, const int *fds, const int *channos, int max_ani, int max_dnis,
                      e1sig_emit_fn emit, void *user, char *err, size_t errlen)
{
    r2_sig_t *s;

    if (nbearers < 1 || nbearers > 30 || fds == NULL || channos == NULL)
    {
        e1sig_new_error(err, errlen, "MFC/R2: an E1 span has 1 to 30 bearers, not %d", nbearers);
        return NULL;
    }
    if (max_ani < 0 || max_ani > E1SIG_NUMBER_MAX || max_dnis < 1 || max_dnis > E1SIG_NUMBER_MAX)
    {
        e1sig_new_error(err, errlen, "MFC/R2: up to %d digits of calling number (not %d) and 1 to %d of called "
                        "number (not %d)", E1SIG_NUMBER_MAX, max_ani, E1SIG_NUMBER_MAX, max_dnis);
        return NULL;
    }
    for (int i = 0; i < nbearers; i++)
    {
        if (fds[i] < 0 || channos[i] < 1)
        {
            e1sig_new_error(err, errlen, "MFC/R2 bearer %d: no open channel (descriptor %d, DAHDI channel %d)", i,
                            fds[i], channos[i]);
            return NULL;
        }
    }
    if ((s = calloc(1, sizeof(*s) + (size_t) nbearers * sizeof(s->b[0]))) == NULL)
    {
        e1sig_new_error(err, errlen, "MFC/R2: out of memory");
        return NULL;
    }
    e1sig_init(&s->base, &r2_ops, nbearers, emit, user);
    s->events.on_call_init = on_call_init;
    s->events.on_call_offered = on_call_offered;
    s->events.on_call_accepted = on_call_accepted;
    s->events.on_call_answered = on_call_answered;
    s->events.on_call_disconnect = on_call_disconnect;
    s->events.on_call_end = on_call_end;
    s->events.on_call_read = on_call_read;
    s->events.on_hardware_alarm = on_hardware_alarm;
    s->events.on_os_error = on_os_error;
    s->events.on_protocol_error = on_protocol_error;
    s->events.on_line_blocked = on_line_blocked;
    s->events.on_line_idle = on_line_idle;
    s->events.on_context_log = context_log;
    s->events.on_dnis_digit_received = on_dnis_digit_received;
    s->events.on_ani_digit_received = on_ani_digit_received;
    s->events.on_billing_pulse_received = on_billing_pulse_received;

    building = s;
    s->ctx = openr2_context_new(NULL, &s->events, NULL, OR2_VAR_ITU, max_ani, max_dnis);
    if (s->ctx == NULL)
    {
        e1sig_new_error(err, errlen, "MFC/R2: openr2 could not make a context for the ITU variant");
        goto fail;
    }
    openr2_context_set_log_level(s->ctx, R2_LOG_LEVELS);
    for (int i = 0; i < nbearers; i++)
    {
        struct r2_bearer *b = &s->b[i];

        b->span = s;
        b->index = i;
        b->channo = channos[i];
        s->base.error[0] = '\0';
        b->chan = openr2_chan_new_from_fd(s->ctx, fds[i], NULL, NULL);
        if (b->chan == NULL)
        {
            e1sig_new_error(err, errlen, "MFC/R2 bearer %d (DAHDI channel %d, descriptor %d): not a CAS channel "
                            "openr2 can use: %s", i, channos[i], fds[i],
                            s->base.error[0] ? s->base.error
                            : openr2_context_error_string(openr2_context_get_last_error(s->ctx)));
            goto fail;
        }
        if (deepen(fds[i]) < 0)
        {
            e1sig_new_error(err, errlen, "MFC/R2 bearer %d (DAHDI channel %d): DAHDI would not give it %d audio "
                            "buffers: %s", i, channos[i], E1SIG_R2_BUFFERS, strerror(errno));
            goto fail;
        }
        openr2_chan_set_client_data(b->chan, b);
        openr2_chan_set_logging_func(b->chan, chan_log);
        openr2_chan_set_log_level(b->chan, R2_LOG_LEVELS);
        if (openr2_chan_set_idle(b->chan) != 0)
        {
            e1sig_new_error(err, errlen, "MFC/R2 bearer %d (DAHDI channel %d): could not set the line idle: %s", i,
                            channos[i], s->base.error[0] ? s->base.error : "openr2 gave no reason");
            goto fail;
        }
    }
    building = NULL;
    s->base.error[0] = '\0';
    return &s->base;

fail:
    building = NULL;
    r2_free(&s->base);
    return NULL;
}
