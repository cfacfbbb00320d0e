/*
 * Call signalling on an E1 span's bearer channels, for the dahdi board: ISDN PRI through
 * libpri (EuroISDN, either side) and MFC/R2 through openr2 (ITU variant). The board keeps
 * the channels' file descriptors and moves their audio; this turns the span's protocol
 * into the board's events on its bearers (board.h) and the board's hook operations into
 * protocol actions.
 *
 * Rules:
 *  - Bearers are numbered 0..n-1 in the order the board gave them.
 *  - A call offered on a bearer comes as BEV_CALLERID (text "number\x1f\x1f<absence>":
 *    the calling number; absence 'P' when it is restricted, 'O' when the network gave
 *    none, ' ' otherwise), BEV_CALLED (text: the dialled number), then one BEV_RING_BEGIN.
 *    The far end clearing, before or after the answer, is BEV_LOOP_LOST.
 *  - hook(HOOK_OFFHOOK) on an offered call answers it; hook(HOOK_ONHOOK) clears what is
 *    up on the bearer (refuses an offered call, hangs up an answered one, abandons one
 *    being placed). hook() on an idle bearer with HOOK_OFFHOOK only takes it for dial().
 *  - dial() places a call on an idle bearer; BEV_ANSWERED follows when the called party
 *    answers, BEV_CLEARED (a = cause) when the call fails first.
 *  - audio() says whether the board may read and write the bearer's audio now: never
 *    while the protocol itself uses the channel (MFC/R2's multifrequency tones).
 *  - run() is called every tick and never blocks: it handles what is readable and what
 *    is due. An error is a negative ERR_* code (common.h) and a message in err.
 */
#ifndef APPLIANCE_E1SIG_H
#define APPLIANCE_E1SIG_H

#include <stddef.h>

#include "board.h"

typedef struct e1sig_s e1sig_t;

/* How the signalling hands the board an event on one of its bearers. */
typedef void (*e1sig_emit_fn)(void *user, int bearer, const board_event_t *ev);

/* ISDN PRI on a span: its D-channel (opened in HDLC-with-FCS mode), the network side or
   the user (CPE) side, and each bearer's timeslot on the span (1-15, 17-31 on an E1). */
e1sig_t *e1sig_pri_new(int dchan_fd, int network, int nbearers, const int *timeslots,
                       e1sig_emit_fn emit, void *user, char *err, size_t errlen);
/* The 20 ms buffers DAHDI holds for an MFC/R2 bearer each way (see e1sig_r2.c): what the
   board may find waiting on one after the machine was held up. */
#define E1SIG_R2_BUFFERS 16

/* MFC/R2 on a span's bearers: each bearer's open channel fd and DAHDI channel number. */
e1sig_t *e1sig_r2_new(int nbearers, const int *fds, const int *channos, int max_ani, int max_dnis,
                      e1sig_emit_fn emit, void *user, char *err, size_t errlen);
void e1sig_run(e1sig_t *s);
int e1sig_hook(e1sig_t *s, int bearer, int op);
int e1sig_dial(e1sig_t *s, int bearer, const char *called, const char *calling);
int e1sig_audio(const e1sig_t *s, int bearer);
/* What went wrong with the last call that failed, in words. */
const char *e1sig_error(const e1sig_t *s);
void e1sig_free(e1sig_t *s);

#endif
