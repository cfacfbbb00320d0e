/*
 * One channel: its line state machine and its per-frame work.
 *
 * Rules:
 *  - The state is one of IDLE, RINGING, OFFHOOK (connected), DIALING, HUNGUP and
 *    OUT_OF_SERVICE; playing, collecting and bridging run on a connected channel and
 *    are reported as its state by channel_state().
 *  - A station side (FXO port, phone) counts rings, reads caller ID between them,
 *    answers, and learns of the far end's hangup by loop break, polarity or busy
 *    tone. An exchange side (FXS port, CO) rings with the plan's cadence, sends
 *    caller ID, and learns of the station's hook changes; it is idle as soon as the
 *    station hangs up, and HUNGUP only while it waits for the station after hanging
 *    up itself.
 *  - Everything that stops on a call's end (playback, collection, bridge, ringing)
 *    stops in channel_reset(), in one place.
 *  - Timeouts count samples of the engine clock.
 */
#ifndef APPLIANCE_CHANNEL_H
#define APPLIANCE_CHANNEL_H

#include <stdint.h>
#include <spandsp.h>

#include "engine.h"
#include "supervise.h"
#include "toneplan.h"

#define COLLECT_MAX_DIGITS 32

/* What the talk-off guard (channel.c) looks back on: 160 ms, whole frames. */
#define ECHO_HISTORY (8 * FRAME_SAMPLES)

typedef struct channel_s
{
    /* What every tick looks at comes first, the bulk (the player's list, histories,
       detector and modem states, audio) after it: a tick visits every channel, and
       with the flags and counters in the first few hundred bytes it reads a few cache
       lines of each rather than a dozen spread over its 9 KB. */
    struct engine_s *engine;
    int no;
    int kind;
    int configured;
    channel_config_t cfg;
    const tone_plan_t *plan;
    int state;

    /* station: rings heard */
    int ring_count;
    int ring_on;
    int64_t ring_ended_at;

    /* exchange: rings sent */
    int ringer;             /* ringing now */
    int ring_phase;         /* index into the plan's cadence */
    int64_t ring_phase_end;
    int cid_tx_standard;
    int cid_tx_when;
    int cid_tx_state;       /* 0 none, 1 waiting for its moment, 2 sending, 3 sent */
    int64_t cid_tx_at;
    cid_tx_t cidtx;

    /* receive */
    dtmf_rx_state_t *dtmf;
    int64_t dtmf_fed;       /* samples given to dtmf_rx, for its 102-sample blocks */
    int64_t dtmf_chunk_end; /* clock at the end of the chunk being fed */
    char digit;
    int64_t digit_start;
    int digit_level;
    char echo_digit;        /* a digit taken for the echo of what the box sent */
    int history_at;         /* in heard[] and sent[] */
    int sup_ready;
    int cid_listen;
    int64_t cid_listen_until;

    /* transmit */
    int player_ready;
    dtmfgen_t gen;
    int dialing;            /* engine_dial's digits are playing */
    int gen_dialing;        /* signalling-only: the keypad generator carries them */
    int busy_out;           /* exchange side playing busy after a silent disconnect */
    int heard_tone;         /* signalling-only: tone the peer is playing to us */

    int bridge;             /* peer channel, or 0 */
    int tap;

    /* digit collection */
    int collecting;
    int collect_max;
    char collect_term[8];
    int64_t first_timeout;
    int64_t inter_timeout;
    int64_t collect_deadline;   /* -1 while a prompt plays and no digit came yet */
    int collect_n;
    char collect_buf[COLLECT_MAX_DIGITS + 1];

    int audio;              /* rx holds this tick's audio */

    /* The bulk. The player's own state leads its list of steps. */
    player_t player;
    cid_info_t cid_out;
    int16_t heard[ECHO_HISTORY];    /* the last samples received and sent, rings */
    int16_t sent[ECHO_HISTORY];
    supervise_t sup;
    cid_rx_t cidrx;
    int16_t rx[FRAME_SAMPLES];
    int16_t tx[FRAME_SAMPLES];
} channel_t;

struct engine_s;

int channel_init(channel_t *c, struct engine_s *e, int no, int kind);
void channel_release(channel_t *c);
int channel_apply_config(channel_t *c, const channel_config_t *cfg);
int channel_state(const channel_t *c);

void channel_signal(struct engine_s *e, channel_t *c, const board_event_t *ev);
void channel_rx(struct engine_s *e, channel_t *c);
void channel_timers(struct engine_s *e, channel_t *c);
void channel_tx(struct engine_s *e, channel_t *c);
/* Stops everything that belongs to a call and moves to `state`. */
void channel_reset(struct engine_s *e, channel_t *c, int state, int play_reason);
void channel_stop_play(struct engine_s *e, channel_t *c, int reason);
/* Tells a signalling-only peer what step has just begun playing. */
void channel_announce(struct engine_s *e, channel_t *c);
void channel_digit_begin(struct engine_s *e, channel_t *c, char digit, int level, int64_t at);
void channel_digit_end(struct engine_s *e, channel_t *c, int64_t at);
/* Whether the channel has audio work this tick. */
int channel_audio_active(const channel_t *c);

#endif
