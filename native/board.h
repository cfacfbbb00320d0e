/*
 * The board interface: what the engine needs from a telephony card, in DAHDI's terms.
 * Two drivers fit it: `sim` (board_sim.c, channel pairs in software) and `dahdi`.
 *
 * Rules:
 *  - Channels are numbered from 1, as DAHDI numbers them. The board says what each
 *    channel is (its kind); the engine does not guess.
 *  - Audio moves in 160-byte G.711 blocks in the channel's law, one block a channel a
 *    tick. read() returns 0 when the board carries no audio (signalling-only mode).
 *  - Signalling arrives as events, one at a time, per channel. An event may carry a
 *    short text (digits, a caller ID) where the board has no audio to carry it.
 *  - Echo cancelling is the board's, as it is DAHDI's: what read() returns on a port
 *    has had the line's echo of the port's own audio taken out.
 */
#ifndef APPLIANCE_BOARD_H
#define APPLIANCE_BOARD_H

#include <stdint.h>

/* What a channel is. A port is the box's side; the others are simulated far ends. */
enum chan_kind
{
    KIND_NONE = 0,
    KIND_FXO = 1,       /* the box's port on a line from the exchange (DAHDI fxsks) */
    KIND_FXS = 2,       /* the box's port feeding an office phone (DAHDI fxoks) */
    KIND_CO = 3,        /* far end of an FXO port: the exchange, and the caller on it */
    KIND_PHONE = 4      /* far end of an FXS port: the phone, and the agent at it */
};

/* The station side has a hook switch (FXO port, phone); the exchange side feeds the
   loop and rings (FXS port, CO). */
#define KIND_IS_STATION(k) ((k) == KIND_FXO || (k) == KIND_PHONE)
#define KIND_IS_PORT(k) ((k) == KIND_FXO || (k) == KIND_FXS)

enum board_hook
{
    HOOK_ONHOOK = 0,        /* station */
    HOOK_OFFHOOK = 1,       /* station */
    HOOK_FLASH = 3,         /* station */
    HOOK_RING = 5,          /* exchange: ringing voltage on */
    HOOK_RINGOFF = 6,       /* exchange: ringing voltage off */
    HOOK_DISCONNECT = 7     /* exchange: signal the far end's hangup the line's way */
};

/* hook(HOOK_DISCONNECT) returns this when the line has no way to signal a hangup:
   the exchange side then plays busy tone, as a real exchange does. */
#define BOARD_NO_SIGNAL 1

enum board_event_type
{
    BEV_NONE = 0,
    BEV_RING_BEGIN = 1,     /* station: ringing voltage started */
    BEV_RING_END = 2,       /* station: ringing voltage stopped */
    BEV_LOOP_LOST = 3,      /* station: the exchange opened the loop (far hangup) */
    BEV_POLARITY = 4,       /* station: battery reversal */
    BEV_OFFHOOK = 5,        /* exchange: the station went off-hook */
    BEV_ONHOOK = 6,         /* exchange: the station went on-hook */
    BEV_FLASH = 7,          /* exchange: hook flash */
    BEV_ALARM = 8,          /* the span or port went out of service */
    BEV_NOALARM = 9,
    BEV_DTMF_DOWN = 10,     /* signalling-only: a digit began (text[0]) */
    BEV_DTMF_UP = 11,       /* signalling-only: a digit ended */
    BEV_CALLERID = 12,      /* signalling-only: caller ID "number\x1fname\x1fabsence" */
    BEV_HEARD = 13,         /* signalling-only: the peer started (a=kind, b=id) or stopped
                               (a=0) playing something */
    BEV_CALLED = 14,        /* station: the number the caller dialled (E1: DNIS), text */
    BEV_ANSWERED = 15,      /* station: the call this side placed was answered (E1 has
                               answer supervision; analog lines do not) */
    BEV_CLEARED = 16        /* station: the call this side placed failed before an answer
                               (a = the network's cause) */
};

#define BOARD_TEXT_MAX 80

typedef struct
{
    int32_t type;
    int32_t a;
    int32_t b;
    char text[BOARD_TEXT_MAX];
} board_event_t;

typedef struct board_s board_t;

struct board_ops
{
    const char *name;
    int (*channels)(board_t *b);
    int (*kind)(board_t *b, int ch);
    int (*has_audio)(board_t *b);
    int (*set_law)(board_t *b, int ch, int law);
    int (*read)(board_t *b, int ch, uint8_t *block);
    int (*write)(board_t *b, int ch, const uint8_t *block);
    int (*hook)(board_t *b, int ch, int op);
    int (*get_event)(board_t *b, int ch, board_event_t *ev);
    /* Signalling-only boards carry these to the peer; others ignore them. */
    int (*oob)(board_t *b, int ch, const board_event_t *ev);
    void (*tick)(board_t *b);
    void (*free)(board_t *b);
    /* The line echo canceller on a port's receive path, `taps` samples long, 0 for
       none (DAHDI's echocanceller= and DAHDI_ECHOCANCEL_PARAMS). NULL: the board
       has none. */
    int (*echocan)(board_t *b, int ch, int taps);
    /* Whether any channel has an event waiting, so that a tick with none need not ask
       each channel in turn. NULL: the board cannot tell, and every channel is asked. */
    int (*pending)(board_t *b);
    /* Linear audio, as DAHDI hands it to a channel in DAHDI_SETLINEAR mode: the board
       codes and decodes G.711 itself, so a block crosses the codec once, not coded by
       the engine only for the board to decode it. The samples are exactly the byte
       path's, decoded: the same law, the same coding. NULL: blocks of bytes only. */
    int (*read_linear)(board_t *b, int ch, int16_t *pcm);
    int (*write_linear)(board_t *b, int ch, const int16_t *pcm);
    /* A number dialled in the line's signalling (E1) rather than as tones: 1 when the
       board carried it, 0 when the line wants tones. NULL: tones always. */
    int (*dial)(board_t *b, int ch, const char *digits);
};

struct board_s
{
    const struct board_ops *ops;
};

/* Frees a board the engine has not taken over (engine_free frees its own). */
void board_free(board_t *b);

#endif
