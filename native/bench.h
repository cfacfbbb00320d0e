/*
 * Speed proofs: the engine's whole per-channel pipeline against a bare loop that makes
 * the same DSP calls (spandsp's DTMF receiver and tone generator, the call-progress
 * tone receiver of tonerx.h), on the same audio, timed the same way in the same process.
 *
 * Rules:
 *  - Not used by the product: only the benchmarks in tests/bench call it.
 *  - Both sides hear the same G.711 recording (each channel from its own offset, looped),
 *    code G.711 the same way (the engine's tables), and send the same thing back (a
 *    looped prompt, or a tone of the plan); both report what they detected and a checksum
 *    of what they sent last, so a caller can see that the two did the same work.
 *  - Times are CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), set-up excluded.
 *  - The engine side is the real engine_run() on a replay board: read() copies the next
 *    frame of the recording, write() keeps the frame, nothing else. No far end, no line
 *    model and no simulated board are timed.
 */
#ifndef APPLIANCE_BENCH_H
#define APPLIANCE_BENCH_H

#include <stdint.h>

typedef struct
{
    int32_t channels;
    int32_t frames;             /* 20 ms frames to run */
    int32_t law;                /* enum law */
    const char *plan;           /* tone plan name */
    const int16_t *heard;       /* what every channel receives, linear, looped */
    int32_t heard_len;          /* samples; whole frames are used */
    const int16_t *played;      /* the prompt every channel plays, looped; NULL: play `tone` */
    int32_t played_len;
    int32_t tone;               /* enum tone_id played when `played` is NULL */
} bench_work_t;

typedef struct
{
    double cpu_s;               /* CPU seconds of the timed loop */
    int64_t digits;             /* DTMF digits that began */
    int64_t tones;              /* supervisory tones that began */
    int64_t hangups;            /* calls the engine ended (busy tone heard); 0 is expected */
    uint32_t checksum;          /* of every channel's last G.711 frame sent */
} bench_result_t;

/* Both return 0, or a negative ERR_* code when the work cannot be set up. */
int bench_baseline(const bench_work_t *w, bench_result_t *r);
int bench_engine(const bench_work_t *w, bench_result_t *r);

#endif
