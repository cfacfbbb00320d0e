/*
 * E1 call signalling, the part both protocols share: the entry points of e1sig.h check
 * what they are given and hand it to the span's protocol (e1sig_pri.c, e1sig_r2.c);
 * the events a protocol raises reach the board through its emit callback only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "e1sig_private.h"

void e1sig_init(e1sig_t *s, const struct e1sig_ops *ops, int nbearers, e1sig_emit_fn emit, void *user)
{
    s->ops = ops;
    s->nbearers = nbearers;
    s->emit = emit;
    s->user = user;
    s->error[0] = '\0';
}

int e1sig_fail(e1sig_t *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    return code;
}

void e1sig_new_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void e1sig_emit(e1sig_t *s, int bearer, int type, int a, const char *text)
{
    board_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.a = a;
    if (text != NULL)
        snprintf(ev.text, sizeof(ev.text), "%s", text);
    if (s->emit != NULL)
        s->emit(s->user, bearer, &ev);
}

void e1sig_emit_offer(e1sig_t *s, int bearer, const char *calling, char absence, const char *called)
{
    char cid[BOARD_TEXT_MAX];

    /* The board's caller ID is "number\x1fname\x1fabsence"; E1 carries no name here. */
    snprintf(cid, sizeof(cid), "%.*s\x1f\x1f%c", E1SIG_NUMBER_MAX, calling, absence);
    e1sig_emit(s, bearer, BEV_CALLERID, 0, cid);
    e1sig_emit(s, bearer, BEV_CALLED, 0, called);
    e1sig_emit(s, bearer, BEV_RING_BEGIN, 0, NULL);
}

int e1sig_number_ok(const char *number, int may_be_empty)
{
    size_t n;

    if (number == NULL)
        return may_be_empty;
    n = strnlen(number, E1SIG_NUMBER_MAX + 1);
    if (n > E1SIG_NUMBER_MAX || (n == 0 && !may_be_empty))
        return 0;
    for (size_t i = 0; i < n; i++)
    {
        if (number[i] < '0' || number[i] > '9')
            return 0;
    }
    return 1;
}

const char *e1sig_state_name(int state)
{
    switch (state)
    {
    case E1B_IDLE:
        return "idle";
    case E1B_TAKEN:
        return "taken for a call";
    case E1B_OFFERED:
        return "ringing with a call offered";
    case E1B_DIALING:
        return "placing a call";
    case E1B_UP:
        return "in a call";
    case E1B_PARKED:
        return "cleared, waiting for on-hook";
    default:
        return "in an unknown state";
    }
}

static int bearer_ok(e1sig_t *s, int bearer)
{
    if (bearer < 0 || bearer >= s->nbearers)
        return e1sig_fail(s, ERR_CHANNEL, "%s: no bearer %d (the span has %d)", s->ops->name, bearer, s->nbearers);
    return 0;
}

void e1sig_run(e1sig_t *s)
{
    if (s != NULL)
        s->ops->run(s);
}

int e1sig_hook(e1sig_t *s, int bearer, int op)
{
    int rc;

    if (s == NULL)
        return ERR_ARG;
    if ((rc = bearer_ok(s, bearer)) < 0)
        return rc;
    if (op != HOOK_OFFHOOK && op != HOOK_ONHOOK)
        return e1sig_fail(s, ERR_ARG, "%s bearer %d: hook operation %d does not apply to an E1 bearer "
                          "(only off-hook and on-hook)", s->ops->name, bearer, op);
    return s->ops->hook(s, bearer, op);
}

int e1sig_dial(e1sig_t *s, int bearer, const char *called, const char *calling)
{
    int rc;

    if (s == NULL)
        return ERR_ARG;
    if ((rc = bearer_ok(s, bearer)) < 0)
        return rc;
    if (!e1sig_number_ok(called, 0))
        return e1sig_fail(s, ERR_ARG, "%s bearer %d: the called number must be 1 to %d digits", s->ops->name,
                          bearer, E1SIG_NUMBER_MAX);
    if (!e1sig_number_ok(calling, 1))
        return e1sig_fail(s, ERR_ARG, "%s bearer %d: the calling number must be up to %d digits", s->ops->name,
                          bearer, E1SIG_NUMBER_MAX);
    return s->ops->dial(s, bearer, called, calling != NULL ? calling : "");
}

int e1sig_audio(const e1sig_t *s, int bearer)
{
    if (s == NULL || bearer < 0 || bearer >= s->nbearers)
        return 0;
    return s->ops->audio(s, bearer);
}

const char *e1sig_error(const e1sig_t *s)
{
    return s != NULL ? s->error : "no signalling";
}

void e1sig_free(e1sig_t *s)
{
    if (s != NULL)
        s->ops->free(s);
}
