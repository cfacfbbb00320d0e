/*
 * What the two E1 signalling protocols share behind e1sig.h: the dispatch table each
 * fills in, the state of a bearer as the board sees it, and the helpers that word
 * errors and hand events to the board.
 *
 * Rules:
 *  - e1sig.c checks the bearer number and the arguments before a protocol sees them;
 *    a protocol's functions get only bearers in range and numbers that are digits.
 *  - A protocol reports a failure with e1sig_fail(), which keeps the words for
 *    e1sig_error() and gives back the code.
 */
#ifndef APPLIANCE_E1SIG_PRIVATE_H
#define APPLIANCE_E1SIG_PRIVATE_H

#include <stddef.h>

#include "e1sig.h"

/* The longest number either protocol carries (the board's event text holds a caller ID
   of this many digits with its separators). */
#define E1SIG_NUMBER_MAX 32
#define E1SIG_ERROR_MAX 256

/* A bearer's call, as the board's hook switch sees it. */
enum e1_bearer_state
{
    E1B_IDLE = 0,
    E1B_TAKEN,          /* taken off-hook for dial(), no call yet */
    E1B_OFFERED,        /* a call came in and rings; not answered */
    E1B_DIALING,        /* this side placed a call; no answer yet */
    E1B_UP,             /* answered, either way */
    E1B_PARKED          /* the call ended while off-hook: held until hook(HOOK_ONHOOK),
                           so that no new call reaches the board before it hangs up */
};

struct e1sig_ops
{
    const char *name;
    void (*run)(e1sig_t *s);
    int (*hook)(e1sig_t *s, int bearer, int op);
    int (*dial)(e1sig_t *s, int bearer, const char *called, const char *calling);
    int (*audio)(const e1sig_t *s, int bearer);
    void (*free)(e1sig_t *s);
};

struct e1sig_s
{
    const struct e1sig_ops *ops;
    int nbearers;
    e1sig_emit_fn emit;
    void *user;
    char error[E1SIG_ERROR_MAX];
};

/* Fills the common part of a protocol's instance. */
void e1sig_init(e1sig_t *s, const struct e1sig_ops *ops, int nbearers, e1sig_emit_fn emit, void *user);
/* Keeps the message for e1sig_error() and returns code. */
int e1sig_fail(e1sig_t *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes a message into a constructor's err buffer (which may be NULL). */
void e1sig_new_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Hands the board an event; text may be NULL. */
void e1sig_emit(e1sig_t *s, int bearer, int type, int a, const char *text);
/* The offered call's three events: BEV_CALLERID (the calling number and its absence
   code: 'P' restricted, 'O' none, ' ' given), BEV_CALLED, BEV_RING_BEGIN. */
void e1sig_emit_offer(e1sig_t *s, int bearer, const char *calling, char absence, const char *called);
/* Whether a number is 1..E1SIG_NUMBER_MAX digits (a called number) or, with
   may_be_empty, possibly none (a calling number). */
int e1sig_number_ok(const char *number, int may_be_empty);
const char *e1sig_state_name(int state);

#endif
