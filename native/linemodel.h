/*
 * The line between a port of the box and its far end, in the simulated board:
 * level loss, white noise, and the hybrid echo that sends the box's own audio back
 * to it.
 *
 * Rules:
 *  - Works on linear samples; the board does the G.711 coding on both sides, so a
 *    signal crosses two codecs as it does on a real line.
 *  - Echo is heard by the box's side only: it is the box's own prompts coming back
 *    through the 2-wire hybrid, delayed and attenuated by the return loss.
 *  - Noise is Gaussian (spandsp's AWGN) from a table shared by all lines, read from
 *    a random place every block so lines do not hear the same noise.
 */
#ifndef APPLIANCE_LINEMODEL_H
#define APPLIANCE_LINEMODEL_H

#include <stdint.h>

enum hangup_signal
{
    HANGUP_LOOP_BREAK = 0,
    HANGUP_POLARITY = 1,
    HANGUP_BUSY_TONE = 2    /* the line signals nothing: only busy tone follows */
};

typedef struct
{
    float loss_db;              /* each direction, >= 0 */
    float noise_dbm0;           /* at each receiver; <= -90 for none */
    int32_t echo_delay_ms;      /* 0 to 120 */
    float echo_return_loss_db;  /* >= 0; >= 90 for no echo */
    int32_t hangup_signal;      /* enum hangup_signal */
} line_params_t;

#define LINE_ECHO_MAX 1024      /* samples of the box's audio kept for the echo path */

typedef struct linemodel_s
{
    line_params_t p;
    int32_t gain_q15;
    int32_t noise_q15;
    int32_t echo_q15;
    int echo_delay;
    int16_t history[LINE_ECHO_MAX];
    int hpos;
    uint32_t seed;
} linemodel_t;

int line_params_check(const line_params_t *p);
void line_params_default(line_params_t *p);

linemodel_t *linemodel_init(linemodel_t *s, const line_params_t *p, uint32_t seed);
int linemodel_release(linemodel_t *s);
int linemodel_free(linemodel_t *s);

/* far_tx (may be NULL for silence) and the box's own box_tx (NULL for silence) ->
   what the box hears. */
void linemodel_to_box(linemodel_t *s, const int16_t *far_tx, const int16_t *box_tx,
                      int16_t *out, int n);
/* box_tx (NULL for silence) -> what the far end hears. */
void linemodel_to_far(linemodel_t *s, const int16_t *box_tx, int16_t *out, int n);

#endif
