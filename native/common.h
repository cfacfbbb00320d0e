/*
 * Definitions every module of the channel engine shares.
 *
 * Rules:
 *  - One frame is 20 ms of 8 kHz audio: 160 samples, 160 bytes of G.711.
 *  - The engine's sample counter is the one clock; nothing here reads wall-clock time.
 *  - Functions that can fail return 0 or a negative ERR_* code; they never abort the
 *    process, because one bad command must not take the other channels down.
 */
#ifndef APPLIANCE_COMMON_H
#define APPLIANCE_COMMON_H

#include <stdint.h>

#define SAMPLE_RATE 8000
#define FRAME_SAMPLES 160
#define FRAME_MS 20
#define MS_TO_SAMPLES(ms) ((int64_t) (ms) * (SAMPLE_RATE / 1000))

enum law
{
    LAW_ALAW = 0,
    LAW_ULAW = 1
};

enum err
{
    ERR_OK = 0,
    ERR_CHANNEL = -1,   /* no such channel, or it is not configured */
    ERR_STATE = -2,     /* the command does not fit the channel's state */
    ERR_ARG = -3,       /* an argument is out of range */
    ERR_NOMEM = -4,
    ERR_PLAN = -5,      /* unknown tone plan */
    ERR_PROMPT = -6,    /* unknown prompt, or a prompt still playing */
    ERR_KIND = -7,      /* the command does not fit the channel's kind */
    ERR_BOARD = -8,     /* the board driver refused */
    ERR_AUDIO = -9      /* audio data that cannot be used */
};

#endif
