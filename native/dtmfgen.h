/*
 * DTMF generator with impairments: the far end's keypad in the simulated board, used
 * to prove the receive path. Each tone's level and frequency error, and the on/off
 * timing, are set per digit string, as the acceptance procedure in notes/spandsp.md
 * needs. The box itself dials with spandsp's dtmf_tx (playback.c).
 *
 * Rules:
 *  - Oscillators are spandsp's DDS with fractional frequencies, so a 0.1 % error is
 *    0.1 %, not rounded to a whole hertz.
 *  - dtmfgen_run() mixes into the buffer it is given, so digits can ride on speech.
 */
#ifndef APPLIANCE_DTMFGEN_H
#define APPLIANCE_DTMFGEN_H

#include <stdint.h>

#define DTMFGEN_MAX_DIGITS 64

typedef struct
{
    float level_low;        /* dBm0 of the low-group tone */
    float level_high;       /* dBm0 of the high-group tone */
    float error_low;        /* frequency error of the low tone, percent */
    float error_high;
    int32_t on_ms;
    int32_t off_ms;
} dtmf_send_params_t;

typedef struct dtmfgen_s
{
    int active;             /* first: every frame of every channel asks */
    int ndigits;
    int cur;
    int64_t pos;            /* samples into the current digit's on+off period */
    int64_t on;
    int64_t off;
    uint32_t phase_low;
    uint32_t phase_high;
    int32_t rate_low;
    int32_t rate_high;
    int16_t scale_low;
    int16_t scale_high;
    dtmf_send_params_t params;
    char digits[DTMFGEN_MAX_DIGITS + 1];
} dtmfgen_t;

dtmfgen_t *dtmfgen_init(dtmfgen_t *s);
int dtmfgen_release(dtmfgen_t *s);
int dtmfgen_free(dtmfgen_t *s);

/* Queues digits (0-9, *, #, A-D); ERR_ARG names a bad digit or parameter. */
int dtmfgen_put(dtmfgen_t *s, const char *digits, const dtmf_send_params_t *p);
/* Mixes into amp[0..n), or only advances time when amp is NULL; returns the samples
   used. Calls on_edge(user, digit, down) in the run that holds the first sample of
   each tone and the first sample after it, so a signalling-only board can carry them. */
typedef void (*dtmfgen_edge_func_t)(void *user, char digit, int down);
int dtmfgen_run(dtmfgen_t *s, int16_t *amp, int n, dtmfgen_edge_func_t on_edge, void *user);
int dtmfgen_busy(const dtmfgen_t *s);

/* Row and column frequency of a digit; returns 0 for a character that is no digit. */
int dtmf_digit_freqs(char digit, int *low, int *high);

#endif
