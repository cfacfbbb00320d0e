/*
 * A line echo canceller for a 2-wire port: it takes the box's own audio, which the
 * line's hybrid sends back delayed and attenuated, out of what the port receives.
 * DAHDI does this in the kernel for real cards (`echocanceller=` in system.conf); the
 * simulated board does it here, at the same place in the path: on the port's decoded
 * receive block, with the block the port sent as the reference.
 *
 * Rules:
 *  - Two filters of the same length (the tail): a background filter that adapts all
 *    the time (NLMS) and a foreground filter that makes the output. The foreground
 *    takes the background's coefficients only when the background has cancelled
 *    clearly better for a while, so the caller talking or pressing keys over a prompt
 *    (double talk, which throws an adapting filter off) never reaches the output; a
 *    background thrown far off restarts from the foreground.
 *  - Nothing is cancelled while the box has sent nothing within the tail: the receive
 *    block passes unchanged.
 *  - Once the background stops finding anything better, adaptation rests: the
 *    foreground runs alone, as a plain filter over the few taps that hold the echo.
 *    It wakes when the output gets 6 dB worse than it was (the caller talks, or the
 *    path changed) and every 30 s of sending, to look along the whole tail again.
 *    A line with no echo then costs next to nothing.
 *  - No non-linear processing and no comfort noise: what is left of the echo stays,
 *    because the DTMF and tone detectors behind it judge levels and must see the
 *    caller's audio as it came.
 */
#ifndef APPLIANCE_ECHOCAN_H
#define APPLIANCE_ECHOCAN_H

#include <stdint.h>

#define ECHOCAN_MIN_TAPS 16
#define ECHOCAN_MAX_TAPS 1024    /* 128 ms, DAHDI's longest tail */
#define ECHOCAN_DEFAULT_TAPS 128 /* 16 ms, DAHDI's default for analog ports */

typedef struct echocan_s echocan_t;

/* taps: a multiple of 8 from ECHOCAN_MIN_TAPS to ECHOCAN_MAX_TAPS; NULL if not. */
echocan_t *echocan_init(echocan_t *s, int taps);
int echocan_release(echocan_t *s);
int echocan_free(echocan_t *s);
/* Forgets the echo path learnt (a new call may take another path through the hybrid). */
void echocan_reset(echocan_t *s);
int echocan_taps(const echocan_t *s);
/* The taps the filter runs on now: the window that holds the echo while it rests, the
   whole tail while it adapts. */
int echocan_taps_in_use(const echocan_t *s);

/* tx: what the port sent in this block (NULL for silence); rx: what it received, in
   place, with the echo taken out. */
void echocan_update(echocan_t *s, const int16_t *tx, int16_t *rx, int n);

#endif
