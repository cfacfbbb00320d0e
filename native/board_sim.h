/*
 * The simulated board: channel pairs cross-connected in software, the way DAHDI's
 * dahdi_dynamic_loc joins two spans. One side of a pair is the box's port (FXO line
 * or FXS phone port); the other is its far end (the exchange with a caller on it, or
 * an agent's phone), driven by the same engine from scripts (appliance.sim).
 *
 * Rules:
 *  - Signalling follows the station/exchange split of board.h; a line's hangup
 *    signal (loop break, polarity reversal, or nothing but busy tone) is part of its
 *    line model.
 *  - Audio written in tick t is heard in tick t+1, through the line model, decoded
 *    and encoded in each side's own law.
 *  - In signalling-only mode there is no audio at all: digits, caller ID and what is
 *    being played travel as events (as DAHDI does for cards with hardware DTMF).
 */
#ifndef APPLIANCE_BOARD_SIM_H
#define APPLIANCE_BOARD_SIM_H

#include "board.h"
#include "linemodel.h"

board_t *board_sim_new(int nchannels, int audio);
/* Joins a port (kind FXO or FXS) with its far end over a line with these properties. */
int board_sim_connect(board_t *b, int port, int far, int port_kind, const line_params_t *p);
/* Changes a line's properties while it runs (the echo history is kept). */
int board_sim_set_line(board_t *b, int port, const line_params_t *p);
/* Puts a channel in alarm (out of service) or takes it out. */
int board_sim_alarm(board_t *b, int ch, int on);

#endif
