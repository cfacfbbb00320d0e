/*
 * The dahdi board: real telephony channels through DAHDI's /dev/dahdi/channel, behind the
 * same interface as the simulated board (board.h).
 *
 * Rules:
 *  - Every channel is opened once, when the board is made, and kept open for the life of
 *    the process: opening a channel (or putting an FXO port on-hook) arms DAHDI's 2 s ring
 *    debounce, and rings inside it are lost. settled() says when the last one has passed.
 *  - What a channel is comes from the caller (its kind) and is checked against DAHDI's
 *    signalling for it: an FXO port (or a phone, as a far end) is `fxsks`/`fxsls`, an FXS
 *    port (or the exchange, as a far end) `fxoks`/`fxols`; an E1 bearer is a clear
 *    channel on an ISDN span (its D-channel found on the same span) or a CAS channel on
 *    an MFC/R2 span, and counts as a line from the exchange (station side).
 *  - DAHDI's timer paces the board: tick() waits for the next 20 ms of the spans' clock,
 *    so the engine runs one frame per frame of the cards and needs no clock of its own.
 *  - Audio moves in 160-sample blocks in the channel's law. After the machine was held
 *    up, DAHDI and the engine's ticks catch up on the same clock: a block the engine
 *    has not taken yet waits up to 16 frames (320 ms), then the oldest gives way (a
 *    slip, counted); sent audio is never queued more than two blocks ahead.
 *  - DAHDI's events become board events one for one (board_dahdi_translate); those that
 *    carry nothing the engine needs (a hook change completed, the ringer's cadence) are
 *    consumed here.
 */
#ifndef APPLIANCE_BOARD_DAHDI_H
#define APPLIANCE_BOARD_DAHDI_H

#include <stddef.h>
#include <stdint.h>

#include "board.h"

/* How the exchange side (a far end of kind KIND_CO) signals that its caller hung up. */
enum dahdi_far_hangup
{
    FAR_HANGUP_LOOP_BREAK = 0,  /* the loop current drops (kewlstart) */
    FAR_HANGUP_BUSY_TONE = 2    /* nothing: busy tone only, as many exchanges do */
};

enum dahdi_e1_side
{
    E1_USER = 0,        /* ISDN: the CPE side, as a box on a leased E1 is */
    E1_NETWORK = 1      /* ISDN: the network side (a line simulator, or a PBX facing phones) */
};

typedef struct
{
    int32_t channo;     /* DAHDI's channel number */
    int32_t kind;       /* enum chan_kind */
    int32_t far_hangup; /* KIND_CO: enum dahdi_far_hangup */
    int32_t e1_side;    /* E1 bearers on ISDN spans: enum dahdi_e1_side */
} dahdi_chan_spec_t;

/* Opens the channels (spec[i] becomes the board's channel i + 1). NULL with the reason
   in err when DAHDI is missing, a channel cannot be opened, or its signalling does not
   fit its kind. dev is DAHDI's device folder, normally "/dev/dahdi". */
board_t *board_dahdi_new(const char *dev, const dahdi_chan_spec_t *spec, int n, char *err, size_t errlen);
/* Gains on a channel's receive and transmit paths, in dB (DAHDI_SETGAINS tables). */
int board_dahdi_gains(board_t *b, int ch, float rx_db, float tx_db);
/* The calling number of the calls placed on an E1 channel from now on (digits only). */
int board_dahdi_calling(board_t *b, int ch, const char *number);
/* Whether every channel's ring debounce since the board opened it has passed. */
int board_dahdi_settled(board_t *b);
/* Blocks dropped because the engine fell behind the cards, since the board was made. */
long board_dahdi_slips(board_t *b);
/* The reason the board last refused something, in words. */
const char *board_dahdi_error(board_t *b);

/* One DAHDI event on a channel of this kind as a board event: 1 when it is one, 0 when it
   is consumed here. */
int board_dahdi_translate(int kind, int dahdi_event, board_event_t *out);

#endif
