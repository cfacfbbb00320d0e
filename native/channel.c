#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "channel.h"
#include "engine_private.h"

/* spandsp's DTMF receiver decides on 102-sample blocks and wants two in a row, so
   it reports a tone's start about two and a half blocks after it happens, and its end
   about a block and a half after (measured with tests/test_scan.py's digit plans). */
#define DTMF_BLOCK 102
#define DTMF_START_LAG 244
#define DTMF_END_LAG 164

/* FSK caller ID starts at least 500 ms after the first ring (ETSI EN 300 659-1,
   Telcordia GR-30); a receiver listens until the second ring or this long. */
#define CID_AFTER_RING_MS 600
#define CID_LISTEN_MS 5000
/* DTMF caller ID comes before the first ring, which follows it shortly. */
#define CID_BEFORE_RING_GAP_MS 300

static int connected(const channel_t *c)
{
    return c->state == ST_OFFHOOK || c->state == ST_DIALING;
}

int channel_state(const channel_t *c)
{
    if (c->state != ST_OFFHOOK)
        return c->state;
    if (c->bridge)
        return ST_BRIDGED;
    if (c->player.active)
        return ST_PLAYING;
    if (c->collecting)
        return ST_COLLECTING;
    return ST_OFFHOOK;
}

int channel_audio_active(const channel_t *c)
{
    return c->state != ST_IDLE || c->cid_listen || c->cid_tx_state == 2 || c->player.active
        || c->gen.active || c->tap;
}

/* The talk-off guard. A prompt or a tune now and then holds, for a few tens of ms,
   the two frequencies of a digit; the line's hybrid returns it, and what the echo
   canceller leaves of it can still pass for a digit. A digit whose tones were louder
   in what the box itself sent just before, less the 6 dB that the weakest hybrid
   returns (G.168's figure), may be that echo, and is not reported. A caller's key
   is lost to this only if it is pressed 6 dB or more below the same two tones in
   the prompt, which speech and music hardly ever hold that long.

   Both sides are measured alike: power at the digit's two frequencies over the
   receiver's two-block decision window, on the received audio ending now (Goertzel),
   and on the sent audio at every echo delay up to the history's length, a sixth of a
   window apart. For the sent side the history is cut into chunks of a sixth of a
   window, each chunk's DFT at both frequencies taken once, and each window's power is
   that of the sum of its six chunks: the same figure as a Goertzel over the window,
   for a sixth of the work. */
#define GUARD_WINDOW (2 * DTMF_BLOCK)
#define GUARD_CHUNK (GUARD_WINDOW / 6)
#define GUARD_CHUNKS (ECHO_HISTORY / GUARD_CHUNK)
#define GUARD_RETURN_LOSS 0.25f

static float tones_power(const int16_t *amp, const float hz[2])
{
    float p = 0.0f;

    for (int t = 0; t < 2; t++)
    {
        float coeff = 2.0f * cosf(2.0f * 3.14159265f * hz[t] / SAMPLE_RATE);
        float v1 = 0.0f, v2 = 0.0f;

        for (int i = 0; i < GUARD_WINDOW; i++)
        {
            float v = coeff * v1 - v2 + (float) amp[i];

            v2 = v1;
            v1 = v;
        }
        p += v1 * v1 + v2 * v2 - coeff * v1 * v2;
    }
    return p;
}

/* The loudest power at the two frequencies over any window of the sent history. */
static float loudest_sent(const channel_t *c, const float hz[2])
{
    float re[2][GUARD_CHUNKS], im[2][GUARD_CHUNKS];
    float loudest = 0.0f;

    for (int t = 0; t < 2; t++)
    {
        const float w = 2.0f * 3.14159265f * hz[t] / SAMPLE_RATE;
        float cn[GUARD_CHUNK], sn[GUARD_CHUNK];
        /* Each chunk's phase against the newest sample's: one step back per chunk. */
        const float step_r = cosf(w * GUARD_CHUNK), step_i = sinf(w * GUARD_CHUNK);
        float rot_r = step_r, rot_i = step_i;

        for (int n = 0; n < GUARD_CHUNK; n++)
        {
            cn[n] = cosf(w * n);
            sn[n] = sinf(w * n);
        }
        for (int k = 0; k < GUARD_CHUNKS; k++)
        {
            /* Chunk k ends k chunks before the newest sample sent. */
            int i = (c->history_at + 2 * ECHO_HISTORY - (k + 1) * GUARD_CHUNK) % ECHO_HISTORY;
            float sr = 0.0f, si = 0.0f, r;

            for (int n = 0; n < GUARD_CHUNK; n++)
            {
                sr += c->sent[i] * cn[n];
                si -= c->sent[i] * sn[n];
                if (++i == ECHO_HISTORY)
                    i = 0;
            }
            re[t][k] = sr * rot_r - si * rot_i;
            im[t][k] = sr * rot_i + si * rot_r;
            r = rot_r * step_r - rot_i * step_i;
            rot_i = rot_r * step_i + rot_i * step_r;
            rot_r = r;
        }
    }
    for (int k = 0; k + GUARD_WINDOW / GUARD_CHUNK <= GUARD_CHUNKS; k++)
    {
        float p = 0.0f;

        for (int t = 0; t < 2; t++)
        {
            float sr = 0.0f, si = 0.0f;

            for (int j = k; j < k + GUARD_WINDOW / GUARD_CHUNK; j++)
            {
                sr += re[t][j];
                si += im[t][j];
            }
            p += sr * sr + si * si;
        }
        loudest = p > loudest ? p : loudest;
    }
    return loudest;
}

static int echo_of_sent(const channel_t *c, char digit, int now_in_frame)
{
    static const char keys[] = "123A456B789C*0#D";
    static const float row[4] = {697.0f, 770.0f, 852.0f, 941.0f};
    static const float col[4] = {1209.0f, 1336.0f, 1477.0f, 1633.0f};
    const char *k = strchr(keys, digit);
    int16_t win[GUARD_WINDOW];
    float hz[2];
    int at;

    if (k == NULL || digit == '\0')
        return 0;
    hz[0] = row[(k - keys) / 4];
    hz[1] = col[(k - keys) % 4];
    /* Received: the frame so far, and before it the history. */
    at = c->history_at + ECHO_HISTORY - (GUARD_WINDOW - now_in_frame);
    for (int i = 0; i < GUARD_WINDOW - now_in_frame; i++)
        win[i] = c->heard[(at + i) % ECHO_HISTORY];
    memcpy(win + GUARD_WINDOW - now_in_frame, c->rx, now_in_frame * sizeof(int16_t));
    return tones_power(win, hz) < GUARD_RETURN_LOSS * loudest_sent(c, hz);
}

static void dtmf_report(void *user, int code, int level, int delay)
{
    channel_t *c = (channel_t *) user;

    (void) delay;
    if (code)
    {
        int now_in_frame = (int) (c->dtmf_chunk_end - c->engine->sample);

        if (echo_of_sent(c, (char) code, now_in_frame))
        {
            c->echo_digit = (char) code;
            return;
        }
        channel_digit_begin(c->engine, c, (char) code, level, c->dtmf_chunk_end - DTMF_START_LAG);
    }
    else if (c->echo_digit)
    {
        c->echo_digit = 0;
    }
    else
    {
        channel_digit_end(c->engine, c, c->dtmf_chunk_end - DTMF_END_LAG);
    }
}

static void remote_hangup_why(struct engine_s *e, channel_t *c, int cause, int why)
{
    engine_emit(e, c, EV_HANGUP, cause, why, 0);
    channel_reset(e, c, ST_HUNGUP, PLAY_STOPPED);
}

static void remote_hangup(struct engine_s *e, channel_t *c, int cause)
{
    remote_hangup_why(e, c, cause, 0);
}

static void tone_report(void *user, int tone, int on)
{
    channel_t *c = (channel_t *) user;

    if (on && c->state == ST_OFFHOOK && KIND_IS_STATION(c->kind)
        && (c->cfg.detect & DETECT_BUSY_HANGUP) && (tone == TONE_BUSY || tone == TONE_CONGESTION))
    {
        remote_hangup(c->engine, c, tone == TONE_BUSY ? CAUSE_BUSY_TONE : CAUSE_CONGESTION_TONE);
        return;
    }
    engine_emit(c->engine, c, EV_TONE, tone, on, 0);
}

int channel_init(channel_t *c, struct engine_s *e, int no, int kind)
{
    memset(c, 0, sizeof(*c));
    c->engine = e;
    c->no = no;
    c->kind = kind;
    c->state = ST_IDLE;
    if (player_init(&c->player) == NULL)
        return ERR_NOMEM;
    c->player_ready = 1;
    dtmfgen_init(&c->gen);
    cid_tx_init(&c->cidtx);
    cid_rx_init(&c->cidrx);
    return 0;
}

void channel_release(channel_t *c)
{
    if (c->player_ready)
        player_release(&c->player);
    c->player_ready = 0;
    if (c->dtmf)
        dtmf_rx_free(c->dtmf);
    c->dtmf = NULL;
    if (c->sup_ready)
        supervise_release(&c->sup);
    c->sup_ready = 0;
    cid_tx_release(&c->cidtx);
    cid_rx_release(&c->cidrx);
    dtmfgen_release(&c->gen);
}

static void cid_listen_start(channel_t *c, int64_t until)
{
    if (cid_rx_start(&c->cidrx, c->cfg.cid_standard) == 0)
    {
        c->cid_listen = 1;
        c->cid_listen_until = until;
    }
}

/* A station line that gets caller ID before the first ring listens while idle. */
static void idle_listen(channel_t *c)
{
    if (KIND_IS_STATION(c->kind) && c->cfg.cid_standard != CID_NONE && c->cfg.cid_when == CID_BEFORE_FIRST_RING
        && c->engine->audio)
        cid_listen_start(c, INT64_MAX);
}

int channel_apply_config(channel_t *c, const channel_config_t *cfg)
{
    channel_config_t v = *cfg;

    /* A receiver started afresh each time, allocated once: dtmf_rx_parms leaves a
       setting of -1 as it was, and -1 has to mean spandsp's default again after a
       configuration that changed it. */
    if ((c->dtmf = dtmf_rx_init(c->dtmf, NULL, NULL)) == NULL)
        return ERR_NOMEM;
    dtmf_rx_set_realtime_callback(c->dtmf, dtmf_report, c);
    c->dtmf_fed = 0;
    dtmf_rx_parms(c->dtmf, v.dtmf_filter_dialtone ? 1 : 0, v.dtmf_twist, v.dtmf_reverse_twist,
                  v.dtmf_threshold ? v.dtmf_threshold : -42);
    if (c->sup_ready)
        supervise_release(&c->sup);
    c->sup_ready = 0;
    if (supervise_init(&c->sup, c->plan, v.busy_cycles, tone_report, c) == NULL)
        return ERR_NOMEM;
    c->sup_ready = 1;
    c->cfg = v;
    c->cfg.plan = c->plan->name;
    c->configured = 1;
    c->cid_listen = 0;
    if (c->state == ST_IDLE)
        idle_listen(c);
    return 0;
}

static void heard(struct engine_s *e, channel_t *c, int kind, int id)
{
    board_event_t ev;

    if (e->audio)
        return;
    memset(&ev, 0, sizeof(ev));
    ev.type = BEV_HEARD;
    ev.a = kind;
    ev.b = id;
    e->board->ops->oob(e->board, c->no, &ev);
}

void channel_announce(struct engine_s *e, channel_t *c)
{
    int started = c->player.started_step;

    if (started < 0)
        return;
    c->player.started_step = -1;
    heard(e, c, c->player.step[started].type, c->player.step[started].id);
}

void channel_stop_play(struct engine_s *e, channel_t *c, int reason)
{
    int step = c->player.cur;

    if (!c->player.active && reason != PLAY_COMPLETE)
        return;
    for (int i = 0; i < c->player.nsteps; i++)
    {
        if (c->player.step[i].type == PLAY_PROMPT)
            engine_prompt_unref(e, c->player.step[i].id);
    }
    player_stop(&c->player);
    heard(e, c, 0, 0);
    if (c->dialing)
    {
        c->dialing = 0;
        engine_emit(e, c, EV_DIALED, reason, 0, 0);
        return;
    }
    if (!c->busy_out)
        engine_emit(e, c, EV_PLAY_DONE, reason, step, 0);
}

static void collect_finish(struct engine_s *e, channel_t *c, int reason)
{
    engine_event_t *ev = engine_emit(e, c, EV_COLLECTED, reason, c->collect_n, 0);

    if (ev)
        memcpy(ev->text, c->collect_buf, c->collect_n + 1);
    c->collecting = 0;
    c->collect_n = 0;
    c->collect_buf[0] = '\0';
}

void channel_reset(struct engine_s *e, channel_t *c, int state, int play_reason)
{
    if (c->player.active)
        channel_stop_play(e, c, play_reason);
    if (c->collecting)
        collect_finish(e, c, COLLECT_CANCELLED);
    if (c->bridge)
    {
        e->ch[c->bridge].bridge = 0;
        c->bridge = 0;
    }
    if (c->ringer)
        e->board->ops->hook(e->board, c->no, HOOK_RINGOFF);
    c->ringer = 0;
    c->cid_tx_state = 0;
    c->cidtx.active = 0;
    c->cid_listen = 0;
    c->digit = 0;
    c->echo_digit = 0;
    c->gen.active = 0;
    c->gen_dialing = 0;
    c->dialing = 0;
    c->busy_out = 0;
    c->ring_count = 0;
    c->ring_on = 0;
    c->heard_tone = TONE_NONE;
    if (c->sup_ready)
        supervise_reset(&c->sup);
    c->state = state;
    if (state == ST_IDLE)
        idle_listen(c);
}

void channel_digit_begin(struct engine_s *e, channel_t *c, char digit, int level, int64_t at)
{
    if (c->digit)
        channel_digit_end(e, c, at);
    c->digit = digit;
    c->digit_start = at;
    c->digit_level = level;
    /* Barge-in: the caller knows what to press; the prompt stops at once. */
    if (c->player.active && c->player.interruptible)
        channel_stop_play(e, c, PLAY_INTERRUPTED);
}

void channel_digit_end(struct engine_s *e, channel_t *c, int64_t at)
{
    char d = c->digit;
    engine_event_t *ev;
    int64_t ms;

    if (!d)
        return;
    c->digit = 0;
    c->echo_digit = 0;
    ms = (at - c->digit_start) / (SAMPLE_RATE / 1000);
    ev = engine_emit(e, c, EV_DIGIT, d, (int) (ms > 0 ? ms : 0), c->digit_level);
    if (ev)
        ev->sample = c->digit_start;
    if (!c->collecting)
        return;
    if (strchr(c->collect_term, d))
    {
        collect_finish(e, c, COLLECT_TERMINATOR);
        return;
    }
    c->collect_buf[c->collect_n++] = d;
    c->collect_buf[c->collect_n] = '\0';
    if (c->collect_n >= c->collect_max)
        collect_finish(e, c, COLLECT_MAX);
    else
        c->collect_deadline = e->sample + c->inter_timeout;
}

static void parse_cid(engine_event_t *ev, const char *text)
{
    /* "number \x1f name \x1f absence", as the signalling-only board carries it */
    const char *p = text;
    int k = 0;

    while (*p && *p != '\x1f' && k < EV_TEXT - 1)
        ev->text[k++] = *p++;
    ev->text[k] = '\0';
    if (*p == '\x1f')
        p++;
    k = 0;
    while (*p && *p != '\x1f' && k < EV_TEXT - 1)
        ev->text2[k++] = *p++;
    ev->text2[k] = '\0';
    /* Only a reason for absence counts; the sender pads the field when there is none. */
    if (*p == '\x1f' && (p[1] == 'P' || p[1] == 'O'))
        ev->a = p[1];
}

static void heard_event(struct engine_s *e, channel_t *c, const board_event_t *ev)
{
    int was = c->heard_tone;

    engine_emit(e, c, EV_HEARD, ev->a, ev->b, 0);
    /* What a detector would have told us, had there been audio. */
    c->heard_tone = (ev->a == PLAY_TONE) ? ev->b : TONE_NONE;
    if (was != TONE_NONE && was != c->heard_tone && (c->cfg.detect & DETECT_TONES) && connected(c))
        tone_report(c, was, 0);
    if (c->heard_tone != TONE_NONE && ((c->cfg.detect & DETECT_TONES) || (c->cfg.detect & DETECT_BUSY_HANGUP))
        && connected(c))
    {
        if (c->cfg.detect & DETECT_TONES)
            tone_report(c, c->heard_tone, 1);
        else if (c->heard_tone == TONE_BUSY || c->heard_tone == TONE_CONGESTION)
            tone_report(c, c->heard_tone, 1);
    }
}

void channel_signal(struct engine_s *e, channel_t *c, const board_event_t *ev)
{
    if (ev->type == BEV_ALARM)
    {
        channel_reset(e, c, ST_OUT_OF_SERVICE, PLAY_STOPPED);
        engine_emit(e, c, EV_ALARM, 0, 0, 0);
        return;
    }
    if (ev->type == BEV_NOALARM)
    {
        if (c->state == ST_OUT_OF_SERVICE)
        {
            /* The board refused hook changes during the alarm: bring the port to the
               idle its state now says, or a line seized when the alarm came stays
               seized and the exchange can never reach it again. */
            e->board->ops->hook(e->board, c->no, KIND_IS_STATION(c->kind) ? HOOK_ONHOOK : HOOK_RINGOFF);
            channel_reset(e, c, ST_IDLE, PLAY_STOPPED);
        }
        engine_emit(e, c, EV_NOALARM, 0, 0, 0);
        return;
    }
    if (c->state == ST_OUT_OF_SERVICE)
        return;
    switch (ev->type)
    {
    case BEV_RING_BEGIN:
        if (c->state == ST_IDLE)
        {
            c->state = ST_RINGING;
            c->ring_count = 0;
        }
        if (c->state != ST_RINGING)
            break;
        c->ring_count++;
        c->ring_on = 1;
        if (c->ring_count >= 2)
            c->cid_listen = 0;
        engine_emit(e, c, EV_RING, c->ring_count, 0, 0);
        break;
    case BEV_RING_END:
        c->ring_on = 0;
        c->ring_ended_at = e->sample;
        if (c->state == ST_RINGING && c->ring_count == 1 && c->cfg.cid_standard != CID_NONE
            && c->cfg.cid_when == CID_AFTER_FIRST_RING && e->audio)
            cid_listen_start(c, e->sample + MS_TO_SAMPLES(CID_LISTEN_MS));
        break;
    case BEV_LOOP_LOST:
        if (connected(c))
            remote_hangup(e, c, CAUSE_LOOP_BREAK);
        else if (c->state == ST_RINGING && KIND_IS_STATION(c->kind))
        {
            /* E1 says the caller gave up before the answer; an analog line would only
               have stopped ringing. */
            engine_emit(e, c, EV_RING_TIMEOUT, c->ring_count, 0, 0);
            channel_reset(e, c, ST_IDLE, PLAY_STOPPED);
        }
        break;
    case BEV_CALLED:
        if (KIND_IS_STATION(c->kind) && (c->state == ST_RINGING || c->state == ST_IDLE))
        {
            engine_event_t *out = engine_emit(e, c, EV_CALLED, 0, 0, 0);
            if (out)
            {
                memcpy(out->text, ev->text, sizeof(out->text) - 1);
                out->text[sizeof(out->text) - 1] = '\0';
            }
        }
        break;
    case BEV_ANSWERED:
        if (connected(c))
            engine_emit(e, c, EV_ANSWERED, 0, 0, 0);
        break;
    case BEV_CLEARED:
        if (connected(c))
            remote_hangup_why(e, c, CAUSE_CLEARED, ev->a);
        break;
    case BEV_POLARITY:
        if (c->state == ST_OFFHOOK)
            remote_hangup(e, c, CAUSE_POLARITY);
        else
            engine_emit(e, c, EV_POLARITY, 0, 0, 0);
        break;
    case BEV_OFFHOOK:
        if (c->state == ST_RINGING || c->state == ST_IDLE)
        {
            int answered = (c->state == ST_RINGING);
            channel_reset(e, c, ST_OFFHOOK, PLAY_STOPPED);
            engine_emit(e, c, EV_OFFHOOK, answered, 0, 0);
        }
        break;
    case BEV_ONHOOK:
        /* The exchange side's call is over once the station is on-hook: nothing is
           left to wait for, so it is idle at once, as HUNGUP would never end. */
        if (connected(c))
        {
            engine_emit(e, c, EV_HANGUP, CAUSE_ONHOOK, 0, 0);
            channel_reset(e, c, ST_IDLE, PLAY_STOPPED);
        }
        else if (c->state == ST_HUNGUP)
        {
            channel_reset(e, c, ST_IDLE, PLAY_STOPPED);
        }
        break;
    case BEV_FLASH:
        if (connected(c))
            engine_emit(e, c, EV_FLASH, 0, 0, 0);
        break;
    case BEV_DTMF_DOWN:
        if (connected(c) && (c->cfg.detect & DETECT_DTMF))
            channel_digit_begin(e, c, ev->text[0], ev->a, e->sample);
        break;
    case BEV_DTMF_UP:
        if (connected(c) && (c->cfg.detect & DETECT_DTMF))
            channel_digit_end(e, c, e->sample);
        break;
    case BEV_CALLERID:
        if (KIND_IS_STATION(c->kind) && (c->state == ST_RINGING || c->state == ST_IDLE)
            && c->cfg.cid_standard != CID_NONE)
        {
            engine_event_t *out = engine_emit(e, c, EV_CALLERID, 0, 0, 0);
            if (out)
                parse_cid(out, ev->text);
        }
        break;
    case BEV_HEARD:
        heard_event(e, c, ev);
        break;
    default:
        break;
    }
}

static void dtmf_feed(struct engine_s *e, channel_t *c)
{
    int off = 0;

    while (off < FRAME_SAMPLES)
    {
        int to_boundary = DTMF_BLOCK - (int) (c->dtmf_fed % DTMF_BLOCK);
        int chunk = (to_boundary < FRAME_SAMPLES - off) ? to_boundary : FRAME_SAMPLES - off;

        c->dtmf_chunk_end = e->sample + off + chunk;
        dtmf_rx(c->dtmf, c->rx + off, chunk);
        c->dtmf_fed += chunk;
        off += chunk;
    }
}

void channel_rx(struct engine_s *e, channel_t *c)
{
    if (c->cid_listen)
    {
        cid_rx_run(&c->cidrx, c->rx, FRAME_SAMPLES);
        if (c->cidrx.ready)
        {
            engine_event_t *ev = engine_emit(e, c, EV_CALLERID, c->cidrx.info.absence, 0, 0);
            if (ev)
            {
                memcpy(ev->text, c->cidrx.info.number, sizeof(c->cidrx.info.number));
                memcpy(ev->text2, c->cidrx.info.name, sizeof(c->cidrx.info.name));
            }
            c->cidrx.ready = 0;
            /* Before-ring caller ID keeps listening for the next call once idle again. */
            if (c->cfg.cid_when != CID_BEFORE_FIRST_RING || c->state != ST_IDLE)
                c->cid_listen = 0;
        }
    }
    if (!connected(c))
        return;
    if (c->cfg.detect & DETECT_DTMF)
        dtmf_feed(e, c);
    /* While the box plays a call-progress tone itself on a line with no echo
       canceller, the echo is that tone: the detector would hear the box, not the far
       end. */
    if ((c->cfg.detect & (DETECT_TONES | DETECT_BUSY_HANGUP)) && c->sup_ready
        && !(c->cfg.echocan_taps == 0 && c->player.active && c->player.step[c->player.cur].type == PLAY_TONE))
        supervise_rx(&c->sup, c->rx, FRAME_SAMPLES);
}

static void ringer_phase(struct engine_s *e, channel_t *c, int phase)
{
    const uint16_t *cad = c->plan->ring_cadence;

    /* Skip empty phases of a two-part cadence. */
    for (int tries = 0; tries < 4 && cad[phase % 4] == 0; tries++)
        phase++;
    phase %= 4;
    c->ring_phase = phase;
    c->ring_phase_end = e->sample + MS_TO_SAMPLES(cad[phase]);
    e->board->ops->hook(e->board, c->no, (phase % 2 == 0) ? HOOK_RING : HOOK_RINGOFF);
    if (phase % 2 == 1 && c->cid_tx_state == 1 && c->cid_tx_when == CID_AFTER_FIRST_RING)
        c->cid_tx_at = e->sample + MS_TO_SAMPLES(CID_AFTER_RING_MS);
}

static void cid_send_begin(struct engine_s *e, channel_t *c)
{
    if (!e->audio)
    {
        /* No audio to carry it: hand the peer what its receiver would have decoded
           (callerid.c): a number and no reason, or private or unavailable; no name
           over DTMF. */
        board_event_t ev;
        char why = c->cid_out.number[0] ? ' ' : (c->cid_out.absence == 'P' ? 'P' : 'O');
        memset(&ev, 0, sizeof(ev));
        ev.type = BEV_CALLERID;
        snprintf(ev.text, sizeof(ev.text), "%s\x1f%s\x1f%c", c->cid_out.number,
                 (c->cid_tx_standard == CID_DTMF) ? "" : c->cid_out.name, why);
        e->board->ops->oob(e->board, c->no, &ev);
        c->cid_tx_state = 3;
        /* Caller ID before the first ring: the ringing follows, as after audio. */
        if (!c->ringer)
            c->ring_phase_end = e->sample + MS_TO_SAMPLES(CID_BEFORE_RING_GAP_MS);
        return;
    }
    c->cid_tx_state = 2;
}

void channel_timers(struct engine_s *e, channel_t *c)
{
    int64_t now = e->sample;

    if (c->state == ST_RINGING)
    {
        if (KIND_IS_STATION(c->kind))
        {
            if (!c->ring_on && now - c->ring_ended_at >= MS_TO_SAMPLES(c->cfg.ring_timeout_ms))
            {
                engine_emit(e, c, EV_RING_TIMEOUT, c->ring_count, 0, 0);
                channel_reset(e, c, ST_IDLE, PLAY_STOPPED);
            }
        }
        else
        {
            if (c->cid_tx_state == 1 && c->cid_tx_at >= 0 && now >= c->cid_tx_at)
                cid_send_begin(e, c);
            if (c->ringer && now >= c->ring_phase_end)
                ringer_phase(e, c, c->ring_phase + 1);
            else if (!c->ringer && c->cid_tx_state == 3 && now >= c->ring_phase_end)
            {
                /* Caller ID before the first ring has been sent: start ringing. */
                c->ringer = 1;
                ringer_phase(e, c, 0);
            }
        }
    }
    if (c->cid_listen && now >= c->cid_listen_until)
        c->cid_listen = 0;
    if (c->collecting)
    {
        if (c->collect_deadline < 0)
        {
            if (!c->player.active && !c->digit)
                c->collect_deadline = now + (c->collect_n ? c->inter_timeout : c->first_timeout);
        }
        else if (!c->digit && now >= c->collect_deadline)
        {
            collect_finish(e, c, COLLECT_TIMEOUT);
        }
    }
}

static void gen_edge(void *user, char digit, int down)
{
    channel_t *c = (channel_t *) user;
    board_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = down ? BEV_DTMF_DOWN : BEV_DTMF_UP;
    ev.a = (int) c->gen.params.level_low;
    ev.text[0] = digit;
    c->engine->board->ops->oob(c->engine->board, c->no, &ev);
}

static inline int16_t sat16(int32_t v)
{
    return (int16_t) (v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
}

void channel_tx(struct engine_s *e, channel_t *c)
{
    int16_t *amp = e->audio ? c->tx : NULL;

    if (c->bridge)
    {
        const channel_t *p = &e->ch[c->bridge];
        if (amp)
        {
            if (p->audio)
                memcpy(amp, p->rx, sizeof(c->tx));
            else
                memset(amp, 0, sizeof(c->tx));
        }
    }
    else if (c->player.active)
    {
        if (player_run(&c->player, amp, FRAME_SAMPLES))
            channel_stop_play(e, c, PLAY_COMPLETE);
        else
            channel_announce(e, c);
    }
    else if (amp)
    {
        memset(amp, 0, sizeof(c->tx));
    }
    if (c->cid_tx_state == 2 && amp)
    {
        int16_t buf[FRAME_SAMPLES];
        int got = cid_tx_run(&c->cidtx, buf, FRAME_SAMPLES);

        for (int i = 0; i < got; i++)
            amp[i] = sat16(amp[i] + buf[i]);
        if (got < FRAME_SAMPLES)
        {
            c->cid_tx_state = 3;
            if (!c->ringer)
                c->ring_phase_end = e->sample + MS_TO_SAMPLES(CID_BEFORE_RING_GAP_MS);
        }
    }
    if (c->gen.active)
    {
        dtmfgen_run(&c->gen, amp, FRAME_SAMPLES, e->audio ? NULL : gen_edge, c);
        /* Dialled digits end with the play list, which reports them. */
        if (!c->gen.active && !c->gen_dialing)
            engine_emit(e, c, EV_DIGITS_SENT, 0, 0, 0);
        if (!c->gen.active)
            c->gen_dialing = 0;
    }
    if (amp && (c->cfg.detect & DETECT_DTMF))
    {
        /* The talk-off guard's history: this tick's audio both ways. */
        if (c->audio)
            memcpy(c->heard + c->history_at, c->rx, sizeof(c->rx));
        else
            memset(c->heard + c->history_at, 0, sizeof(c->rx));
        memcpy(c->sent + c->history_at, amp, sizeof(c->tx));
        c->history_at = (c->history_at + FRAME_SAMPLES) % ECHO_HISTORY;
    }
}
