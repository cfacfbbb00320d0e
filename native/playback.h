/*
 * Playback: one channel's list of things to play, in order: in-memory prompts,
 * tones from the channel's tone plan, silence, and DTMF digits.
 *
 * Rules:
 *  - The engine resolves prompt ids to sample pointers before the list starts, and
 *    keeps those prompts alive until the list ends (prompt store reference counts).
 *  - player_run() with a NULL buffer only advances time: that is how the signalling-only
 *    board plays, so a prompt takes exactly as long with or without audio.
 *  - Tones come from spandsp's tone_gen, digits from spandsp's dtmf_tx.
 */
#ifndef APPLIANCE_PLAYBACK_H
#define APPLIANCE_PLAYBACK_H

#include <stdint.h>
#include <spandsp.h>

#include "toneplan.h"

enum play_type
{
    PLAY_PROMPT = 1,
    PLAY_TONE = 2,
    PLAY_SILENCE = 3,
    PLAY_DIGITS = 4
};

#define PLAY_MAX_ITEMS 32
#define PLAY_MAX_DIGITS 32

/* What a command asks for (public: the Python side builds these). */
typedef struct
{
    int32_t type;
    int32_t id;         /* prompt id, or tone id */
    int32_t ms;         /* tone or silence length; 0 = a tone's natural length */
    char digits[PLAY_MAX_DIGITS];
} play_item_t;

/* A resolved step. */
typedef struct
{
    int type;
    int id;
    const int16_t *pcm;
    int64_t len;        /* samples; -1 = until stopped */
    const tone_def_t *tone;
    char digits[PLAY_MAX_DIGITS];
} play_step_t;

typedef struct player_s
{
    int nsteps;
    int cur;
    int64_t pos;            /* samples into the current step */
    int active;
    int loop;               /* start again after the last step (music on hold) */
    int interruptible;      /* a digit stops it */
    int started_step;       /* step begun and not yet taken by the caller, or -1 */
    /* Current tone: spandsp generator stepping through the tone's steps. */
    tone_gen_descriptor_t *tone_desc;
    tone_gen_state_t *tone_gen;
    const tone_def_t *tone;
    int tone_step;
    int64_t tone_left;
    dtmf_tx_state_t *dtmf;
    int dtmf_on_ms;
    int dtmf_off_ms;
    /* The list last: every frame reads the state above and one step of it. */
    play_step_t step[PLAY_MAX_ITEMS];
} player_t;

player_t *player_init(player_t *s);
int player_release(player_t *s);
int player_free(player_t *s);

/* Steps are resolved by the caller; the player copies them. */
int player_start(player_t *s, const play_step_t *steps, int n, int loop, int interruptible);
void player_stop(player_t *s);

/* Fills amp[0..n) (mixing is the caller's job) or only advances time when amp is NULL.
   Returns 1 when the list has just finished, else 0. */
int player_run(player_t *s, int16_t *amp, int n);

/* How long a list of digits takes with the player's DTMF timing. */
int64_t player_digits_samples(const player_t *s, const char *digits);

#endif
