/*
 * The engine's own state, shared by engine.c and channel.c only.
 */
#ifndef APPLIANCE_ENGINE_PRIVATE_H
#define APPLIANCE_ENGINE_PRIVATE_H

#include "channel.h"
#include "engine.h"

typedef struct
{
    int16_t *pcm;
    int n;
    int refs;               /* play lists holding it */
} prompt_t;

#define TAP_BATCH_MAX 512   /* frames a run may hand back before it returns, or one
                               tick's worth when more channels than that are tapped */

struct engine_s
{
    board_t *board;
    int nch;
    int audio;
    channel_t *ch;          /* 1..nch */
    int64_t sample;
    prompt_t *prompts;
    int nprompts;
    engine_event_t *ev;
    int nev;
    int evcap;
    /* Events that commands make between runs: the batch handed out must stay as it
       is until the next run, so they wait here and open the next batch. */
    engine_event_t *pend;
    int npend;
    int pendcap;
    int running;
    tap_frame_t *taps;
    int ntaps;
    int tapcap;
    int ntapped;            /* channels with a tap on */
    engine_batch_t batch;
    char err[256];
};

engine_event_t *engine_emit(struct engine_s *e, const channel_t *c, int type, int a, int b, int cval);
void engine_prompt_unref(struct engine_s *e, int id);

#endif
