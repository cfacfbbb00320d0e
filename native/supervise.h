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
 *  - A cadenced tone is reported only after `cycles` regular on/off cycles (twice as
 *    many for congestion, whose cycles are half as long), so that speech and music do
 *    not look like busy tone (Asterisk's busycount idea).
 *  - Detection runs on the module's own receiver (tonerx.h), which follows spandsp's
 *    super_tone_rx decision for decision: the same thresholds (-42 dBm0 to count,
 *    3 dB tone-to-total energy for the two strongest frequencies, 6 dB twist),
 *    128-sample blocks, two blocks to change segment, the same cadence test. It runs
 *    all the Goertzel filters in one interleaved pass over a block, because
 *    super_tone_rx's one after another took a quarter of the office simulation's CPU.
 *    super_tone_rx stays the reference: the C test feeds both the same audio and
 *    wants the same results. This module owns what the receiver listens for.
 *  - Busy and congestion end a call, so the receiver's match is only a candidate: it
 *    counts once the cycles it matched also look like an exchange's tone and not like
 *    a note of music or a syllable. The bursts keep one level (within 3 dB); the
 *    silences are silent (12 dB under the quietest burst); each burst and each silence
 *    lasts as long as the same step a cycle earlier (within 2 blocks of 16 ms). A
 *    candidate that fails is checked again at each new segment while it lasts.
 *  - Blocks far below what the line carried in the last second (12 dB) reach the
 *    receiver as silence: the faint rest of the box's own echo in a busy tone's
 *    silences would otherwise break the cadence.
 */
#ifndef APPLIANCE_SUPERVISE_H
#define APPLIANCE_SUPERVISE_H

#include <stdint.h>

#include "toneplan.h"
#include "tonerx.h"

/* The receiver matches a pattern against the last 10 segments it has heard (as
   super_tone_rx does, which reads outside its history for longer ones), so an on/off
   cadence fits at most 5 times. */
#define SUPERVISE_MAX_CYCLES 5

typedef void (*supervise_report_func_t)(void *user, int tone, int on);

/* The receiver's block: 128 samples, 16 ms. */
#define SUPERVISE_BLOCK TONERX_BLOCK
/* Block energies kept: one second, more than any burst or silence that is checked. */
#define SUPERVISE_HISTORY 64
/* Segments kept: a full pattern of the most cycles, plus the one in progress. */
#define SUPERVISE_SEGMENTS (2 * SUPERVISE_MAX_CYCLES + 2)

typedef struct
{
    int tone;                   /* a monitored tone was heard (not silence or sound) */
    int blocks;                 /* length, in blocks */
    float mean;                 /* mean block energy inside it */
    float max;                  /* loudest block inside it */
} supervise_segment_t;

typedef struct supervise_s
{
    tonerx_t rx;
    const tone_plan_t *plan;
    int cycles_of[TONE_COUNT];  /* cycles each tone's pattern asks for */
    int tone_of[TONE_COUNT];    /* the receiver's tone number -> enum tone_id */
    int ntones;
    int current;                /* tone reported now, or TONE_NONE */
    int candidate;              /* busy or congestion matched but not yet confirmed */
    supervise_report_func_t report;
    void *user;

    int16_t block[SUPERVISE_BLOCK];
    int fill;
    float energy[SUPERVISE_HISTORY];    /* per block, ring indexed by block number */
    int64_t nblock;                     /* blocks handed to the receiver */
    float loud;                         /* the loudest block of the last second */
    int64_t loud_at;                    /* and its number */
    int64_t seg_start;                  /* first block of the segment in progress */
    supervise_segment_t seg[SUPERVISE_SEGMENTS];    /* completed, oldest first */
    int nseg;
} supervise_t;

supervise_t *supervise_init(supervise_t *s, const tone_plan_t *plan, int cycles,
                            supervise_report_func_t report, void *user);
int supervise_release(supervise_t *s);
int supervise_free(supervise_t *s);
void supervise_rx(supervise_t *s, const int16_t *amp, int n);
/* Forgets all it has heard, without a report: each call starts with no history. */
void supervise_reset(supervise_t *s);

#endif
