/*
 * Supervisory tone detection: which call-progress tone of the channel's tone plan
 * is on the line (dial, busy, ringback, congestion). It tells the box that a caller
 * on a line without disconnect supervision has hung up (busy or congestion tone),
 * and how a call it dials out is progressing.
 *
 * Rules:
 *  - Patterns come from the same tone plan the box plays (toneplan.h), widened by
 *    tolerances here: on and off times +/-15 % and 40 ms, to cover exchanges that
 *    round their cadences and the detector's 16 ms resolution.
 *  - A cadenced tone is reported only after `cycles` regular on/off cycles, so that
 *    speech and music do not look like busy tone (Asterisk's busycount idea).
 *  - Detection runs on spandsp's super_tone_rx; this module owns its descriptor.
 */
#ifndef APPLIANCE_SUPERVISE_H
#define APPLIANCE_SUPERVISE_H

#include <stdint.h>
#include <spandsp.h>

#include "toneplan.h"

/* super_tone_rx matches a pattern against the last 10 segments it has heard and reads
   outside its history for longer ones, so an on/off cadence fits at most 5 times. */
#define SUPERVISE_MAX_CYCLES 5

typedef void (*supervise_report_func_t)(void *user, int tone, int on);

typedef struct supervise_s
{
    super_tone_rx_descriptor_t *desc;
    super_tone_rx_state_t *rx;
    int tone_of[TONE_COUNT];    /* super_tone_rx's tone index -> enum tone_id */
    int ntones;
    int current;                /* tone heard now, or TONE_NONE */
    supervise_report_func_t report;
    void *user;
} supervise_t;

supervise_t *supervise_init(supervise_t *s, const tone_plan_t *plan, int cycles,
                            supervise_report_func_t report, void *user);
int supervise_release(supervise_t *s);
int supervise_free(supervise_t *s);
void supervise_rx(supervise_t *s, const int16_t *amp, int n);
/* Forgets all it has heard, without a report: each call starts with no history. */
void supervise_reset(supervise_t *s);

#endif
