/*
 * Tone plans: the call-progress tones and ring cadence of one country's network.
 *
 * Rules:
 *  - A tone is a list of steps (one or two frequencies at a level, for a duration),
 *    played once or repeated. A step with no frequency is silence; a step of 0 ms
 *    lasts until the tone is stopped.
 *  - Plans are constant data, found by name ("itu", "ru", "ua", "us"); every value
 *    says where it comes from in toneplan.c.
 *  - The same data drives generation (tone_player) and supervisory detection
 *    (supervise), so what the box plays and what it listens for cannot drift apart.
 */
#ifndef APPLIANCE_TONEPLAN_H
#define APPLIANCE_TONEPLAN_H

#include <stdint.h>

enum tone_id
{
    TONE_NONE = 0,
    TONE_DIAL = 1,
    TONE_BUSY = 2,
    TONE_RINGBACK = 3,
    TONE_CONGESTION = 4,
    TONE_SIT = 5,
    TONE_COUNT = 6
};

#define TONE_MAX_STEPS 6

typedef struct
{
    int16_t f1;         /* Hz, 0 = silence */
    int16_t f2;         /* Hz, 0 = single frequency */
    int8_t level;       /* dBm0 of each frequency */
    uint16_t ms;        /* 0 = until stopped */
} tone_step_t;

typedef struct
{
    uint8_t nsteps;
    uint8_t repeat;
    tone_step_t step[TONE_MAX_STEPS];
} tone_def_t;

typedef struct
{
    const char *name;
    const char *country;
    tone_def_t tone[TONE_COUNT];
    /* Ringing signal towards a phone or from the exchange: on, off, on, off (ms). */
    uint16_t ring_cadence[4];
} tone_plan_t;

const tone_plan_t *tone_plan_find(const char *name);
const tone_plan_t *tone_plan_default(void);
int tone_plan_count(void);
const tone_plan_t *tone_plan_at(int i);
const char *tone_name(int tone);

#endif
