/*
 * Call-progress tone receiver: which cadenced tone (a list of steps, each one or two
 * frequencies or silence, with a minimum and maximum time) a line carries. It takes
 * the decisions of spandsp's super_tone_rx (0.0.6) one for one, with the same numbers,
 * and the C test holds it to that on tones, noise, speech and music; what differs is
 * how it computes them. super_tone_rx runs its Goertzel filters one frequency after
 * another over each block, and each filter is a chain of dependent steps, so the CPU
 * mostly waits; here all the frequencies run in one pass over the block, four to a
 * vector, with the same float operations in the same order, so every result is the
 * same to the bit.
 *
 * Rules:
 *  - Blocks of 128 samples (16 ms). A block counts if its energy reaches -42 dBm0: its
 *    result is then its two strongest frequencies, lower number first, if together
 *    they carry half its energy (3 dB) and the weaker is within 6 dB of the stronger;
 *    just the stronger if it is not; none if they carry less. Otherwise none.
 *  - Frequencies are numbered in the order they are first named. One named within 10 Hz
 *    of one already named shares its filter, which moves halfway between the two.
 *  - A segment (a run of one result) ends when two blocks in a row agree on another
 *    result; the first of them counts to the ending segment. The segment callback then
 *    gets its frequency numbers (-1 for none) and length in ms.
 *  - A tone starts when its pattern matches the segments heard last: each step has its
 *    frequencies and a length within its limits, the segment in progress being the last
 *    step and already as long as that step's minimum. While it lasts, each segment must
 *    follow the pattern round (and no longer than its step's maximum); the tone callback
 *    gets the tone's number when it starts and -1 when it ends.
 *  - A pattern is matched against the last 10 segments: a tone of more steps never
 *    starts (super_tone_rx compares them with memory outside its history), and neither
 *    does a tone of none.
 *  - Times are given in ms, a maximum of 0 meaning none; a tone's steps are added right
 *    after the tone.
 */
#ifndef APPLIANCE_TONERX_H
#define APPLIANCE_TONERX_H

#include <stdint.h>

#define TONERX_BLOCK 128
#define TONERX_SEGMENTS 10
/* Filters; also frequencies named, counting those that share a filter. */
#define TONERX_MAX_FREQS 64
#define TONERX_MAX_TONES 8
/* Steps of all tones together. */
#define TONERX_MAX_STEPS 192

/* tone: the tone's number when it starts, -1 when it ends. */
typedef void (*tonerx_tone_func_t)(void *user, int tone);
/* f1, f2: frequency numbers, lower first, -1 for none; ms: how long the segment lasted. */
typedef void (*tonerx_segment_func_t)(void *user, int f1, int f2, int ms);

typedef struct
{
    int f1;                     /* frequency number, -1 none */
    int f2;
    int min;                    /* samples */
    int max;                    /* samples; INT32_MAX for no limit */
    int hz1;                    /* as asked */
    int hz2;
} tonerx_step_t;

typedef struct
{
    int f1;
    int f2;
    int blocks;
} tonerx_segment_t;

typedef struct tonerx_s
{
    /* What it has heard. */
    int fill;                   /* samples of the block in progress */
    float energy;               /* of the block in progress */
    float v2[TONERX_MAX_FREQS]; /* Goertzel state, filter by filter */
    float v3[TONERX_MAX_FREQS];
    float power[TONERX_MAX_FREQS];  /* the last block's, filter by filter */
    int last_f1;                /* the last block's result */
    int last_f2;
    tonerx_segment_t seg[TONERX_SEGMENTS];  /* oldest first; the last is in progress */
    int detected;               /* tone heard now, or -1 */
    int rotation;               /* segments it has lasted */

    /* What it listens for. */
    int nfreqs;
    float fac[TONERX_MAX_FREQS];            /* Goertzel coefficient of each filter */
    int nnamed;
    int named_hz[TONERX_MAX_FREQS];         /* frequencies as named */
    int named_no[TONERX_MAX_FREQS];         /* and the number each was given */
    int ntones;
    int first[TONERX_MAX_TONES];            /* a tone's first step in step[] */
    int nsteps[TONERX_MAX_TONES];
    int nstep;
    tonerx_step_t step[TONERX_MAX_STEPS];

    tonerx_tone_func_t tone;
    tonerx_segment_func_t segment;
    void *user;
} tonerx_t;

/* segment may be NULL. */
tonerx_t *tonerx_init(tonerx_t *s, tonerx_tone_func_t tone, tonerx_segment_func_t segment, void *user);
int tonerx_release(tonerx_t *s);
int tonerx_free(tonerx_t *s);

/* Returns the new tone's number, or -1 when there is no room. */
int tonerx_add_tone(tonerx_t *s);
/* A step of the tone added last: f1, f2 in Hz (0 for none), times in ms (max 0: no
   limit). Returns the step's index in its tone, or -1 when there is no room or the
   tone is not the last one added. */
int tonerx_add_element(tonerx_t *s, int tone, int f1, int f2, int min_ms, int max_ms);

/* Forgets what it has heard, keeping what it listens for; no callback. */
void tonerx_restart(tonerx_t *s);
/* Any number of samples; callbacks come from inside, as blocks finish. */
int tonerx_rx(tonerx_t *s, const int16_t *amp, int n);

#endif
