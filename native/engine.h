/*
 * The channel engine: the per-frame core of the box. It owns the channels of one
 * board, moves their audio every 20 ms, and turns what happens on them into events.
 *
 * Rules:
 *  - engine_run() is the one call per tick (or per many ticks, free-running): it
 *    moves every channel and returns every event in one batch. Commands are
 *    per-event calls; none is needed per frame.
 *  - A command that does not fit returns a negative ERR_* code and leaves the engine
 *    as it was; engine_error() then says which channel and why, in words.
 *  - The batch and its memory belong to the engine and stay valid until the next
 *    engine_run() or engine_free(). Events a command causes (a prompt it stops, a
 *    collection it cancels) open the next batch.
 */
#ifndef APPLIANCE_ENGINE_H
#define APPLIANCE_ENGINE_H

#include <stdint.h>

#include "common.h"
#include "board.h"
#include "callerid.h"
#include "dtmfgen.h"
#include "playback.h"

/* What a channel is doing; PLAYING, COLLECTING and BRIDGED are the connected state
   seen through what runs on it. */
enum line_state
{
    ST_IDLE = 0,
    ST_RINGING = 1,
    ST_OFFHOOK = 2,
    ST_PLAYING = 3,
    ST_COLLECTING = 4,
    ST_BRIDGED = 5,
    ST_DIALING = 6,
    ST_HUNGUP = 7,
    ST_OUT_OF_SERVICE = 8
};

enum event_type
{
    EV_RING = 1,            /* a = ring count */
    EV_RING_TIMEOUT = 2,    /* rings stopped before an answer: the caller gave up */
    EV_CALLERID = 3,        /* text = number, text2 = name, a = absence ('P', 'O', 0) */
    EV_OFFHOOK = 4,         /* exchange side: station off-hook; a = 1 if it answered ringing */
    EV_HANGUP = 5,          /* the far end is gone; a = enum hangup_cause */
    EV_FLASH = 6,
    EV_DIGIT = 7,           /* a = digit, b = duration ms, c = level dBm0; sample = start */
    EV_COLLECTED = 8,       /* text = digits, a = enum collect_end */
    EV_PLAY_DONE = 9,       /* a = enum play_end, b = step reached */
    EV_TONE = 10,           /* a = enum tone_id, b = 1 began / 0 ended */
    EV_ALARM = 11,
    EV_NOALARM = 12,
    EV_HEARD = 13,          /* signalling-only board: a = play_type (0 = stopped), b = id */
    EV_DIGITS_SENT = 14,    /* the digits queued with engine_send_digits are out */
    EV_POLARITY = 15,       /* battery reversal outside a connected call */
    EV_DIALED = 16,         /* engine_dial's digits are out */
    EV_CALLED = 17,         /* text = the number the caller dialled (E1's DNIS) */
    EV_ANSWERED = 18        /* the call placed on this line was answered (E1) */
};

enum hangup_cause
{
    CAUSE_ONHOOK = 1,           /* the station hung up (exchange side) */
    CAUSE_LOOP_BREAK = 2,       /* the exchange opened the loop */
    CAUSE_POLARITY = 3,         /* the exchange reversed the battery */
    CAUSE_BUSY_TONE = 4,        /* only busy tone told us */
    CAUSE_CONGESTION_TONE = 5,
    CAUSE_CLEARED = 6           /* the network cleared the call (E1); b = its cause */
};

enum play_end
{
    PLAY_COMPLETE = 0,
    PLAY_INTERRUPTED = 1,   /* a digit stopped it */
    PLAY_STOPPED = 2        /* a command or the call's end stopped it */
};

enum collect_end
{
    COLLECT_MAX = 0,
    COLLECT_TERMINATOR = 1,
    COLLECT_TIMEOUT = 2,
    COLLECT_CANCELLED = 3
};

enum detect_flags
{
    DETECT_DTMF = 1,
    DETECT_TONES = 2,       /* supervisory tones of the plan */
    DETECT_BUSY_HANGUP = 4  /* busy or congestion tone on a connected call is a hangup */
};

enum cid_when
{
    CID_AFTER_FIRST_RING = 0,
    CID_BEFORE_FIRST_RING = 1
};

#define EV_TEXT 40

typedef struct
{
    int64_t sample;         /* engine clock when it happened */
    int32_t chan;
    int32_t type;
    int32_t a;
    int32_t b;
    int32_t c;
    char text[EV_TEXT];
    char text2[EV_TEXT];
} engine_event_t;

/* One frame of a recording tap: what the channel heard and what it sent. */
typedef struct
{
    int64_t sample;
    int32_t chan;
    int16_t rx[FRAME_SAMPLES];
    int16_t tx[FRAME_SAMPLES];
} tap_frame_t;

typedef struct
{
    int64_t sample;         /* the clock after the run */
    int32_t frames;         /* frames run */
    int32_t nevents;
    const engine_event_t *events;
    int32_t ntaps;
    const tap_frame_t *taps;
} engine_batch_t;

typedef struct
{
    int32_t law;            /* enum law */
    const char *plan;       /* tone plan name */
    int32_t detect;         /* enum detect_flags */
    int32_t cid_standard;   /* enum cid_standard, CID_NONE for none */
    int32_t cid_when;       /* enum cid_when */
    int32_t ring_timeout_ms;
    int32_t busy_cycles;    /* regular cadence cycles before a tone counts */
    int32_t dtmf_twist;     /* dB; default 10; -1 = spandsp's own (8) */
    int32_t dtmf_reverse_twist; /* dB; default 6; -1 = spandsp's own (4) */
    int32_t dtmf_threshold; /* dBm0; 0 = default (-42) */
    int32_t dtmf_filter_dialtone;
    int32_t echocan_taps;   /* port: the board's line echo canceller, samples; 0 = off */
} channel_config_t;

typedef struct engine_s engine_t;

#define RUN_STOP_ON_EVENT 1

/* The engine takes the board over (engine_free frees it); on failure it stays the
   caller's, to free with board_free. */
engine_t *engine_new(board_t *board);
void engine_free(engine_t *e);
const char *engine_error(const engine_t *e);
const char *engine_strerror(int code);

int engine_channels(const engine_t *e);
int engine_channel_kind(const engine_t *e, int ch);
int engine_state(const engine_t *e, int ch);
int64_t engine_now(const engine_t *e);

void engine_default_config(int kind, channel_config_t *cfg);
int engine_configure(engine_t *e, int ch, const channel_config_t *cfg);

/* Prompts: signed 16-bit 8 kHz samples, copied into the engine. */
int engine_prompt_add(engine_t *e, const int16_t *pcm, int n);
int engine_prompt_remove(engine_t *e, int id);
int engine_prompt_samples(const engine_t *e, int id);

const engine_batch_t *engine_run(engine_t *e, int max_frames, int flags);

/* Station side (FXO port, phone). */
int engine_answer(engine_t *e, int ch);
int engine_seize(engine_t *e, int ch);
int engine_dial(engine_t *e, int ch, const char *digits);
int engine_flash(engine_t *e, int ch);
/* Exchange side (FXS port, CO): ring, with caller ID when cid->number or name is set. */
int engine_ring(engine_t *e, int ch, int cid_standard, int cid_when, const cid_info_t *cid);
/* Either side: end the call on this channel. */
int engine_hangup(engine_t *e, int ch);

int engine_play(engine_t *e, int ch, const play_item_t *items, int n, int loop, int interruptible);
int engine_stop(engine_t *e, int ch);
int engine_collect(engine_t *e, int ch, int max_digits, const char *terminators,
                   int first_timeout_ms, int inter_timeout_ms);
int engine_collect_cancel(engine_t *e, int ch);
int engine_bridge(engine_t *e, int a, int b);
int engine_unbridge(engine_t *e, int ch);
int engine_tap(engine_t *e, int ch, int on);
int engine_detect(engine_t *e, int ch, int flags);
/* Digits with chosen levels, frequency errors and timing (simulated far ends). */
int engine_send_digits(engine_t *e, int ch, const char *digits, const dtmf_send_params_t *p);

#endif
