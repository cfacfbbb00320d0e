/*
 * The simulated board: channel pairs, hook signalling from each side to the other,
 * audio that crosses in the next tick coded in each side's own law, the three ways a
 * line signals a hangup, alarms, and the signalling-only mode that carries digits,
 * caller ID and what is playing as events.
 */
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "common.h"
#include "board_sim.h"

/* Channels of the standard test board: an FXO line and an FXS port with their far ends. */
#define LINE 1
#define CO 2
#define PORT 3
#define PHONE 4

static board_t *make_board(int audio, int hangup_signal)
{
    board_t *b = board_sim_new(6, audio);
    line_params_t p;

    if (b == NULL)
        return NULL;
    line_params_default(&p);
    p.hangup_signal = hangup_signal;
    if (board_sim_connect(b, LINE, CO, KIND_FXO, &p) < 0 || board_sim_connect(b, PORT, PHONE, KIND_FXS, &p) < 0)
    {
        board_free(b);
        return NULL;
    }
    return b;
}

static int next_event(board_t *b, int ch, board_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    return b->ops->get_event(b, ch, ev);
}

/* The one event waiting on a channel, or BEV_NONE; -1 when there were more. */
static int only_event(board_t *b, int ch)
{
    board_event_t ev;
    int type;

    if (!next_event(b, ch, &ev))
        return BEV_NONE;
    type = ev.type;
    if (next_event(b, ch, &ev))
    {
        while (next_event(b, ch, &ev))
            ;
        return -1;
    }
    return type;
}

static int no_events(board_t *b)
{
    board_event_t ev;

    for (int ch = 1; ch <= b->ops->channels(b); ch++)
    {
        if (next_event(b, ch, &ev))
            return 0;
    }
    return 1;
}

static void test_new_and_connect(void)
{
    line_params_t p;
    line_params_t bad;
    board_t *b;

    CHECK(board_sim_new(1, 1) == NULL, "a board of one channel was made");
    CHECK(board_sim_new(0, 1) == NULL, "a board of no channels was made");
    CHECK(board_sim_new(4097, 1) == NULL, "a board of 4097 channels was made");
    b = board_sim_new(8, 1);
    REQUIRE(b != NULL, "board_sim_new(8) failed");
    CHECK(strcmp(b->ops->name, "sim") == 0, "the board is called '%s'", b->ops->name);
    CHECK(b->ops->channels(b) == 8, "%d channels", b->ops->channels(b));
    CHECK(b->ops->has_audio(b) == 1, "an audio board says it has none");
    for (int ch = -1; ch <= 9; ch++)
        CHECK(b->ops->kind(b, ch) == KIND_NONE, "unconnected channel %d has kind %d", ch, b->ops->kind(b, ch));

    line_params_default(&p);
    CHECK(board_sim_connect(b, 1, 2, KIND_FXO, &p) == 0, "connecting an FXO line failed");
    CHECK(board_sim_connect(b, 4, 3, KIND_FXS, &p) == 0, "connecting an FXS port failed");
    CHECK(b->ops->kind(b, 1) == KIND_FXO && b->ops->kind(b, 2) == KIND_CO, "the FXO pair is %d/%d",
          b->ops->kind(b, 1), b->ops->kind(b, 2));
    CHECK(b->ops->kind(b, 4) == KIND_FXS && b->ops->kind(b, 3) == KIND_PHONE, "the FXS pair is %d/%d",
          b->ops->kind(b, 4), b->ops->kind(b, 3));

    CHECK(board_sim_connect(b, 5, 5, KIND_FXO, &p) == ERR_CHANNEL, "a channel joined to itself");
    CHECK(board_sim_connect(b, 0, 5, KIND_FXO, &p) == ERR_CHANNEL, "channel 0 joined");
    CHECK(board_sim_connect(b, 5, 9, KIND_FXO, &p) == ERR_CHANNEL, "channel 9 of 8 joined");
    CHECK(board_sim_connect(b, 1, 5, KIND_FXO, &p) == ERR_STATE, "a port joined twice");
    CHECK(board_sim_connect(b, 5, 2, KIND_FXO, &p) == ERR_STATE, "a far end joined twice");
    CHECK(board_sim_connect(b, 5, 6, KIND_CO, &p) == ERR_KIND, "a far-end kind was taken for a port");
    CHECK(board_sim_connect(b, 5, 6, KIND_NONE, &p) == ERR_KIND, "kind 'none' was taken for a port");
    bad = p;
    bad.loss_db = -3.0f;
    CHECK(board_sim_connect(b, 5, 6, KIND_FXO, &bad) == ERR_ARG, "a line with negative loss joined");
    CHECK(b->ops->kind(b, 5) == KIND_NONE && b->ops->kind(b, 6) == KIND_NONE, "a refused join left kinds behind");
    CHECK(board_sim_connect(b, 5, 6, KIND_FXO, &p) == 0, "the refused pair could not be joined afterwards");

    CHECK(board_sim_set_line(b, 1, &bad) == ERR_ARG, "bad line parameters accepted by set_line");
    CHECK(board_sim_set_line(b, 2, &p) == ERR_CHANNEL, "set_line accepted a far end for a port");
    CHECK(board_sim_set_line(b, 7, &p) == ERR_CHANNEL, "set_line accepted an unconnected channel");
    CHECK(board_sim_set_line(b, 0, &p) == ERR_CHANNEL && board_sim_set_line(b, 9, &p) == ERR_CHANNEL,
          "set_line accepted a channel off the board");

    /* Channel operations on unconnected channels are refused, not crashed on. */
    {
        uint8_t block[FRAME_SAMPLES];
        board_event_t ev;
        memset(&ev, 0, sizeof(ev));
        memset(block, 0xD5, sizeof(block));
        CHECK(b->ops->set_law(b, 7, LAW_ALAW) == ERR_CHANNEL, "set_law on an unconnected channel");
        CHECK(b->ops->read(b, 7, block) == ERR_CHANNEL, "read on an unconnected channel");
        CHECK(b->ops->write(b, 8, block) == ERR_CHANNEL, "write on an unconnected channel");
        {
            int16_t pcm[FRAME_SAMPLES] = {0};
            CHECK(b->ops->read_linear(b, 7, pcm) == ERR_CHANNEL, "read_linear on an unconnected channel");
            CHECK(b->ops->write_linear(b, 0, pcm) == ERR_CHANNEL, "write_linear on channel 0");
        }
        CHECK(b->ops->hook(b, 0, HOOK_OFFHOOK) == ERR_CHANNEL, "hook on channel 0");
        CHECK(b->ops->get_event(b, 9, &ev) == 0, "an event on channel 9 of 8");
        CHECK(b->ops->oob(b, 7, &ev) == ERR_CHANNEL, "oob on an unconnected channel");
        CHECK(board_sim_alarm(b, 7, 1) == ERR_CHANNEL, "alarm on an unconnected channel");
    }
    CHECK(no_events(b), "joining channels made events");
    board_free(b);
    board_free(NULL);
}

/* Station and exchange, on both kinds of pair: each hook change reaches the other side once. */
static void test_signalling(void)
{
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);
    static const struct
    {
        int exchange;
        int station;
    } pairs[] = {{CO, LINE}, {PORT, PHONE}};

    REQUIRE(b != NULL, "board setup failed");
    for (int k = 0; k < 2; k++)
    {
        int ex = pairs[k].exchange;
        int st = pairs[k].station;
        const struct board_ops *o = b->ops;

        CHECK(o->hook(b, ex, HOOK_RING) == 0 && only_event(b, st) == BEV_RING_BEGIN, "%d->%d: ring begin", ex, st);
        CHECK(o->hook(b, ex, HOOK_RING) == 0 && only_event(b, st) == BEV_NONE, "%d->%d: ringing twice", ex, st);
        CHECK(o->hook(b, ex, HOOK_RINGOFF) == 0 && only_event(b, st) == BEV_RING_END, "%d->%d: ring end", ex, st);
        CHECK(o->hook(b, ex, HOOK_RINGOFF) == 0 && only_event(b, st) == BEV_NONE, "%d->%d: ring end twice", ex, st);
        CHECK(o->hook(b, st, HOOK_FLASH) == ERR_ARG, "%d: flash while on-hook", st);
        CHECK(o->hook(b, st, HOOK_OFFHOOK) == 0 && only_event(b, ex) == BEV_OFFHOOK, "%d->%d: off-hook", st, ex);
        CHECK(o->hook(b, st, HOOK_OFFHOOK) == 0 && only_event(b, ex) == BEV_NONE, "%d->%d: off-hook twice", st, ex);
        CHECK(o->hook(b, st, HOOK_FLASH) == 0 && only_event(b, ex) == BEV_FLASH, "%d->%d: flash", st, ex);
        CHECK(o->hook(b, st, HOOK_ONHOOK) == 0 && only_event(b, ex) == BEV_ONHOOK, "%d->%d: on-hook", st, ex);
        CHECK(o->hook(b, st, HOOK_ONHOOK) == 0 && only_event(b, ex) == BEV_NONE, "%d->%d: on-hook twice", st, ex);
        /* Each side does only what its side of a line can. */
        CHECK(o->hook(b, st, HOOK_RING) == ERR_ARG, "%d: a station rang", st);
        CHECK(o->hook(b, st, HOOK_DISCONNECT) == ERR_ARG, "%d: a station disconnected the loop", st);
        CHECK(o->hook(b, ex, HOOK_OFFHOOK) == ERR_ARG, "%d: an exchange went off-hook", ex);
        CHECK(o->hook(b, ex, HOOK_FLASH) == ERR_ARG, "%d: an exchange flashed", ex);
        CHECK(o->hook(b, ex, 99) == ERR_ARG && o->hook(b, st, 99) == ERR_ARG, "hook operation 99 accepted");
        CHECK(no_events(b), "%d/%d: stray events", ex, st);
    }

    /* Events queue in order and do not cross to other pairs. */
    b->ops->hook(b, CO, HOOK_RING);
    b->ops->hook(b, CO, HOOK_RINGOFF);
    b->ops->hook(b, CO, HOOK_RING);
    b->ops->hook(b, PHONE, HOOK_OFFHOOK);
    {
        board_event_t ev;
        int types[4];
        int n = 0;

        while (n < 4 && next_event(b, LINE, &ev))
            types[n++] = ev.type;
        CHECK(n == 3 && types[0] == BEV_RING_BEGIN && types[1] == BEV_RING_END && types[2] == BEV_RING_BEGIN,
              "the line got %d events in the wrong order", n);
        CHECK(only_event(b, PORT) == BEV_OFFHOOK, "the FXS port missed the phone's off-hook");
        CHECK(no_events(b), "events went to the wrong channels");
    }
    board_free(b);
}

static void test_event_queue_full(void)
{
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);
    board_event_t ev;
    int refused = 0;
    int n = 0;

    REQUIRE(b != NULL, "board setup failed");
    REQUIRE(b->ops->pending != NULL, "the simulated board cannot tell whether events wait");
    CHECK(!b->ops->pending(b), "a new board has events pending");
    for (int i = 0; i < 40; i++)
    {
        if (b->ops->hook(b, CO, HOOK_RING) == ERR_BOARD)
            refused++;
        if (b->ops->hook(b, CO, HOOK_RINGOFF) == ERR_BOARD)
            refused++;
    }
    CHECK(refused == 16, "%d events refused with a full queue, expected 16", refused);
    while (next_event(b, LINE, &ev))
    {
        CHECK(b->ops->pending(b) == (n < 63), "event %d: pending says %d", n, b->ops->pending(b));
        CHECK(ev.type == ((n % 2) ? BEV_RING_END : BEV_RING_BEGIN), "event %d is %d", n, ev.type);
        n++;
    }
    CHECK(n == 64, "%d events queued, expected 64", n);
    /* Refused events were never counted: drained, nothing is pending. */
    CHECK(!b->ops->pending(b), "a drained board has events pending");
    /* Drained, it takes events again. */
    b->ops->hook(b, CO, HOOK_RING);
    CHECK(b->ops->pending(b), "an event waits and the board says none");
    CHECK(only_event(b, LINE) == BEV_RING_BEGIN, "the drained queue took no event");
    CHECK(!b->ops->pending(b), "the last event taken, the board still has events pending");
    board_free(b);
}

/* How each line tells the station that the far end hung up. */
static void test_hangup_signals(void)
{
    static const struct
    {
        int mode;
        int rc;
        int event;
    } modes[] =
    {
        {HANGUP_LOOP_BREAK, 0, BEV_LOOP_LOST},
        {HANGUP_POLARITY, 0, BEV_POLARITY},
        {HANGUP_BUSY_TONE, BOARD_NO_SIGNAL, BEV_NONE},
    };
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);
    line_params_t p;

    REQUIRE(b != NULL, "board setup failed");
    for (int k = 0; k < 3; k++)
    {
        line_params_default(&p);
        p.hangup_signal = modes[k].mode;
        CHECK(board_sim_set_line(b, LINE, &p) == 0 && board_sim_set_line(b, PORT, &p) == 0, "set_line failed");
        /* From the exchange, and from the box's FXS port to its phone. */
        CHECK(b->ops->hook(b, CO, HOOK_DISCONNECT) == modes[k].rc, "mode %d: the exchange's disconnect gave %d",
              modes[k].mode, modes[k].rc);
        CHECK(only_event(b, LINE) == modes[k].event, "mode %d: the FXO line did not get event %d", modes[k].mode,
              modes[k].event);
        CHECK(b->ops->hook(b, PORT, HOOK_DISCONNECT) == modes[k].rc, "mode %d: the FXS port's disconnect gave %d",
              modes[k].mode, modes[k].rc);
        CHECK(only_event(b, PHONE) == modes[k].event, "mode %d: the phone did not get event %d", modes[k].mode,
              modes[k].event);
        CHECK(no_events(b), "mode %d: stray events", modes[k].mode);
    }
    board_free(b);
}

static void test_alarm(void)
{
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);

    REQUIRE(b != NULL, "board setup failed");
    CHECK(board_sim_alarm(b, LINE, 1) == 0 && only_event(b, LINE) == BEV_ALARM, "no alarm event on the line");
    CHECK(no_events(b), "the alarm reached another channel");
    CHECK(board_sim_alarm(b, LINE, 1) == 0 && only_event(b, LINE) == BEV_NONE, "a second alarm was reported");
    CHECK(b->ops->hook(b, LINE, HOOK_OFFHOOK) == ERR_BOARD, "a channel in alarm went off-hook");
    CHECK(no_events(b), "a channel in alarm signalled");
    /* The far end of a line in alarm is not itself in alarm. */
    CHECK(b->ops->hook(b, CO, HOOK_RING) == 0, "the exchange of a line in alarm could not ring");
    only_event(b, LINE);
    b->ops->hook(b, CO, HOOK_RINGOFF);
    only_event(b, LINE);
    CHECK(board_sim_alarm(b, LINE, 0) == 0 && only_event(b, LINE) == BEV_NOALARM, "no end-of-alarm event");
    CHECK(board_sim_alarm(b, LINE, 0) == 0 && only_event(b, LINE) == BEV_NONE, "a second end of alarm was reported");
    CHECK(b->ops->hook(b, LINE, HOOK_OFFHOOK) == 0 && only_event(b, CO) == BEV_OFFHOOK,
          "the line does not work after its alarm");
    CHECK(board_sim_alarm(b, PHONE, 7) == 0 && only_event(b, PHONE) == BEV_ALARM, "any non-zero value is no alarm");
    CHECK(board_sim_alarm(b, 0, 1) == ERR_CHANNEL && board_sim_alarm(b, 7, 1) == ERR_CHANNEL,
          "alarm on a channel off the board");
    board_free(b);
}

static void encode(int law, const int16_t *in, uint8_t *out)
{
    for (int i = 0; i < FRAME_SAMPLES; i++)
        out[i] = (law == LAW_ALAW) ? linear_to_alaw(in[i]) : linear_to_ulaw(in[i]);
}

/* Audio written in tick t is read in tick t + 1, decoded in the writer's law and
   coded in the reader's. */
static void test_audio(void)
{
    static const int laws[][2] = {{LAW_ALAW, LAW_ULAW}, {LAW_ULAW, LAW_ALAW}, {LAW_ALAW, LAW_ALAW}, {LAW_ULAW, LAW_ULAW}};
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);
    int16_t lin[FRAME_SAMPLES];
    uint8_t to_port[FRAME_SAMPLES];
    uint8_t to_far[FRAME_SAMPLES];
    uint8_t got[FRAME_SAMPLES];
    uint8_t want[FRAME_SAMPLES];

    REQUIRE(b != NULL, "board setup failed");
    for (int i = 0; i < FRAME_SAMPLES; i++)
        lin[i] = (int16_t) ((i - 80) * 397);
    CHECK(b->ops->set_law(b, LINE, 2) == ERR_ARG, "law 2 accepted");
    for (int k = 0; k < 4; k++)
    {
        int port_law = laws[k][0];
        int far_law = laws[k][1];
        int pairs[2][2] = {{LINE, CO}, {PORT, PHONE}};

        for (int pi = 0; pi < 2; pi++)
        {
            int port = pairs[pi][0];
            int far = pairs[pi][1];

            CHECK(b->ops->set_law(b, port, port_law) == 0 && b->ops->set_law(b, far, far_law) == 0,
                  "set_law failed");
            /* Different audio each way, so a crossed wire shows. */
            encode(far_law, lin, to_port);
            {
                int16_t rev[FRAME_SAMPLES];
                for (int i = 0; i < FRAME_SAMPLES; i++)
                    rev[i] = lin[FRAME_SAMPLES - 1 - i];
                encode(port_law, rev, to_far);
            }
            /* Tick t: both write; what they read now is not this tick's audio. */
            CHECK(b->ops->write(b, far, to_port) == FRAME_SAMPLES, "write failed");
            CHECK(b->ops->write(b, port, to_far) == FRAME_SAMPLES, "write failed");
            b->ops->read(b, port, got);
            memset(want, (port_law == LAW_ALAW) ? 0xD5 : 0xFF, FRAME_SAMPLES);
            CHECK(memcmp(got, want, FRAME_SAMPLES) == 0, "the port heard a block in the tick it was written");
            b->ops->tick(b);
            /* Tick t + 1. */
            CHECK(b->ops->read(b, port, got) == FRAME_SAMPLES, "read failed");
            for (int i = 0; i < FRAME_SAMPLES; i++)
            {
                int16_t v = (far_law == LAW_ALAW) ? alaw_to_linear(to_port[i]) : ulaw_to_linear(to_port[i]);
                want[i] = (port_law == LAW_ALAW) ? linear_to_alaw(v) : linear_to_ulaw(v);
            }
            CHECK(memcmp(got, want, FRAME_SAMPLES) == 0, "law %d -> %d: the port did not hear the far end's block",
                  far_law, port_law);
            CHECK(b->ops->read(b, far, got) == FRAME_SAMPLES, "read failed");
            for (int i = 0; i < FRAME_SAMPLES; i++)
            {
                int16_t v = (port_law == LAW_ALAW) ? alaw_to_linear(to_far[i]) : ulaw_to_linear(to_far[i]);
                want[i] = (far_law == LAW_ALAW) ? linear_to_alaw(v) : linear_to_ulaw(v);
            }
            CHECK(memcmp(got, want, FRAME_SAMPLES) == 0, "law %d -> %d: the far end did not hear the port's block",
                  port_law, far_law);
            b->ops->tick(b);
            /* Tick t + 2: nobody wrote in t + 1, so both hear silence in their law. */
            b->ops->read(b, port, got);
            memset(want, (port_law == LAW_ALAW) ? 0xD5 : 0xFF, FRAME_SAMPLES);
            CHECK(memcmp(got, want, FRAME_SAMPLES) == 0, "the port hears a block twice");
            b->ops->read(b, far, got);
            memset(want, (far_law == LAW_ALAW) ? 0xD5 : 0xFF, FRAME_SAMPLES);
            CHECK(memcmp(got, want, FRAME_SAMPLES) == 0, "the far end hears a block twice");
            b->ops->tick(b);
            b->ops->tick(b);
        }
    }
    /* One pair's audio stays on its pair. */
    {
        memset(to_port, 0x2A, sizeof(to_port));
        b->ops->set_law(b, CO, LAW_ALAW);
        b->ops->set_law(b, PORT, LAW_ALAW);
        b->ops->write(b, CO, to_port);
        b->ops->tick(b);
        b->ops->read(b, PORT, got);
        memset(want, 0xD5, FRAME_SAMPLES);
        CHECK(memcmp(got, want, FRAME_SAMPLES) == 0, "the FXS port heard the FXO line's exchange");
        b->ops->tick(b);
    }
    board_free(b);
}

/* The line model sits between the two sides: its echo returns the port's own audio,
   and changing the line keeps what the echo path holds. */
static void test_audio_through_line(void)
{
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);
    line_params_t p;
    int16_t lin[FRAME_SAMPLES];
    uint8_t block[FRAME_SAMPLES];
    uint8_t got[FRAME_SAMPLES];
    uint8_t silence[FRAME_SAMPLES];

    REQUIRE(b != NULL, "board setup failed");
    for (int i = 0; i < FRAME_SAMPLES; i++)
        lin[i] = (int16_t) (8000 - i * 100);
    encode(LAW_ALAW, lin, block);
    memset(silence, 0xD5, sizeof(silence));
    b->ops->set_law(b, LINE, LAW_ALAW);
    b->ops->set_law(b, CO, LAW_ALAW);

    b->ops->write(b, LINE, block);
    b->ops->read(b, LINE, got);
    b->ops->tick(b);
    b->ops->read(b, LINE, got);
    CHECK(memcmp(got, silence, FRAME_SAMPLES) == 0, "an echo-free line echoed");
    /* One frame of delay and no return loss: the block comes back whole, a tick late. */
    line_params_default(&p);
    p.echo_delay_ms = FRAME_MS;
    p.echo_return_loss_db = 0.0f;
    CHECK(board_sim_set_line(b, LINE, &p) == 0, "set_line failed");
    b->ops->write(b, LINE, silence);
    b->ops->tick(b);
    b->ops->read(b, LINE, got);
    CHECK(memcmp(got, block, FRAME_SAMPLES) == 0, "the echo of the block sent before set_line did not come back");
    b->ops->tick(b);

    /* Loss applies in both directions. */
    line_params_default(&p);
    p.loss_db = 6.0f;
    board_sim_set_line(b, LINE, &p);
    b->ops->write(b, CO, block);
    b->ops->write(b, LINE, block);
    b->ops->tick(b);
    {
        int16_t a[FRAME_SAMPLES];
        int16_t c[FRAME_SAMPLES];
        int ok = 1;
        b->ops->read(b, LINE, got);
        for (int i = 0; i < FRAME_SAMPLES; i++)
            a[i] = alaw_to_linear(got[i]);
        b->ops->read(b, CO, got);
        for (int i = 0; i < FRAME_SAMPLES; i++)
            c[i] = alaw_to_linear(got[i]);
        for (int i = 0; i < FRAME_SAMPLES; i++)
        {
            int want = alaw_to_linear(block[i]) / 2;
            /* 6 dB is a factor 0.501, then A-law steps of up to 1/16 of the value. */
            if (abs(a[i] - want) > abs(want) / 12 + 16 || abs(c[i] - want) > abs(want) / 12 + 16)
                ok = 0;
        }
        CHECK(ok, "6 dB loss is not half the amplitude both ways");
    }
    board_free(b);
}

static int16_t lcg_sample(uint32_t *seed, int amplitude)
{
    *seed = *seed * 1664525u + 1013904223u;
    return (int16_t) ((int32_t) (*seed >> 16) % (2 * amplitude + 1) - amplitude);
}

/* Linear audio is the byte path decoded, bit for bit: two boards with the same lines
   (loss, noise, echo) and echo cancellers, one driven with G.711 blocks and one
   linear, hear the same through every law and level, quiet ticks included. */
static void test_linear_audio(void)
{
    static const int laws[][2] = {{LAW_ALAW, LAW_ULAW}, {LAW_ULAW, LAW_ALAW}, {LAW_ALAW, LAW_ALAW}, {LAW_ULAW, LAW_ULAW}};
    static const int amplitudes[] = {32767, 9000, 300, 7};
    board_t *bytes = board_sim_new(4, 1);
    board_t *lin = board_sim_new(4, 1);
    line_params_t p;
    uint32_t seed = 12345;
    int mismatches = 0;

    REQUIRE(bytes != NULL && lin != NULL, "board setup failed");
    REQUIRE(lin->ops->read_linear != NULL && lin->ops->write_linear != NULL, "the simulated board has no linear audio");
    line_params_default(&p);
    p.loss_db = 3.0f;
    p.noise_dbm0 = -60.0f;
    p.echo_delay_ms = 12;
    p.echo_return_loss_db = 20.0f;
    for (int k = 0; k < 2; k++)
    {
        board_t *b = k ? lin : bytes;
        CHECK(board_sim_connect(b, LINE, CO, KIND_FXO, &p) == 0 && board_sim_connect(b, PORT, PHONE, KIND_FXS, &p) == 0
              && b->ops->echocan(b, LINE, 128) == 0 && b->ops->echocan(b, PORT, 128) == 0, "connect failed");
    }
    for (int t = 0; t < 400; t++)
    {
        const int *law = laws[(t / 100) % 4];
        const int chans[4] = {LINE, CO, PORT, PHONE};

        for (int k = 0; k < 4; k++)
        {
            int ch = chans[k];
            int chlaw = law[k % 2];
            int16_t pcm[FRAME_SAMPLES];
            uint8_t block[FRAME_SAMPLES];

            if (t % 100 == 0)
            {
                bytes->ops->set_law(bytes, ch, chlaw);
                lin->ops->set_law(lin, ch, chlaw);
            }
            /* Now and then a side is quiet, or nobody is on the line at all. */
            if ((t + k) % 7 == 3 || t % 50 >= 45)
                continue;
            for (int i = 0; i < FRAME_SAMPLES; i++)
                pcm[i] = lcg_sample(&seed, amplitudes[(t / 7 + k) % 4]);
            encode(chlaw, pcm, block);
            CHECK(bytes->ops->write(bytes, ch, block) == FRAME_SAMPLES, "write failed");
            CHECK(lin->ops->write_linear(lin, ch, pcm) == FRAME_SAMPLES, "write_linear failed");
        }
        for (int k = 0; k < 4; k++)
        {
            int ch = chans[k];
            int chlaw = law[k % 2];
            int16_t got[FRAME_SAMPLES];
            uint8_t block[FRAME_SAMPLES];

            if (t % 50 >= 47)
                continue;
            CHECK(bytes->ops->read(bytes, ch, block) == FRAME_SAMPLES, "read failed");
            CHECK(lin->ops->read_linear(lin, ch, got) == FRAME_SAMPLES, "read_linear failed");
            for (int i = 0; i < FRAME_SAMPLES; i++)
            {
                int16_t want = (chlaw == LAW_ALAW) ? alaw_to_linear(block[i]) : ulaw_to_linear(block[i]);
                if (got[i] != want && mismatches++ < 5)
                    CHECK(0, "tick %d channel %d sample %d: linear %d, bytes decoded %d", t, ch, i, got[i], want);
            }
        }
        bytes->ops->tick(bytes);
        lin->ops->tick(lin);
    }
    CHECK(mismatches == 0, "%d samples differ between the linear and the byte path", mismatches);
    board_free(bytes);
    board_free(lin);
}

/* Every sample value crosses a clean line linear as it would coded: the board's own
   codec (A-law by arithmetic, mu-law by table) gives what spandsp's coder and decoder
   give, in either direction. */
static void test_linear_every_value(void)
{
    board_t *b = make_board(1, HANGUP_LOOP_BREAK);
    int bad = 0;

    REQUIRE(b != NULL, "board setup failed");
    for (int law = LAW_ALAW; law <= LAW_ULAW; law++)
    {
        b->ops->set_law(b, LINE, law);
        b->ops->set_law(b, CO, law);
        for (int from = INT16_MIN; from <= INT16_MAX; from += FRAME_SAMPLES)
        {
            int16_t pcm[FRAME_SAMPLES];
            int16_t back[FRAME_SAMPLES];
            int16_t heard[FRAME_SAMPLES];

            for (int i = 0; i < FRAME_SAMPLES; i++)
                pcm[i] = (int16_t) (from + i <= INT16_MAX ? from + i : INT16_MAX);
            b->ops->write_linear(b, CO, pcm);
            b->ops->write_linear(b, LINE, pcm);
            b->ops->tick(b);
            b->ops->read_linear(b, LINE, heard);
            b->ops->read_linear(b, CO, back);
            for (int i = 0; i < FRAME_SAMPLES; i++)
            {
                int16_t want = (law == LAW_ALAW) ? alaw_to_linear(linear_to_alaw(pcm[i]))
                                                 : ulaw_to_linear(linear_to_ulaw(pcm[i]));
                if ((heard[i] != want || back[i] != want) && bad++ < 5)
                    CHECK(0, "law %d, sample %d: heard %d and %d, spandsp's round trip gives %d", law, pcm[i],
                          heard[i], back[i], want);
            }
        }
    }
    CHECK(bad == 0, "%d sample values cross the board's codec wrongly", bad);
    board_free(b);
}

/* Without audio, what audio would carry travels as events to the peer. */
static void test_signalling_only(void)
{
    board_t *b = make_board(0, HANGUP_LOOP_BREAK);
    board_event_t ev;
    board_event_t got;
    uint8_t block[FRAME_SAMPLES];

    REQUIRE(b != NULL, "board setup failed");
    CHECK(b->ops->has_audio(b) == 0, "a signalling-only board says it has audio");
    memset(block, 0x55, sizeof(block));
    CHECK(b->ops->write(b, LINE, block) == 0, "a signalling-only board took audio");
    CHECK(b->ops->read(b, LINE, block) == 0, "a signalling-only board gave audio");
    {
        int16_t pcm[FRAME_SAMPLES] = {0};
        CHECK(b->ops->write_linear(b, LINE, pcm) == 0, "a signalling-only board took linear audio");
        CHECK(b->ops->read_linear(b, LINE, pcm) == 0, "a signalling-only board gave linear audio");
    }
    b->ops->tick(b);

    /* Hook signalling works as with audio. */
    b->ops->hook(b, CO, HOOK_RING);
    CHECK(only_event(b, LINE) == BEV_RING_BEGIN, "no ring without audio");

    memset(&ev, 0, sizeof(ev));
    ev.type = BEV_DTMF_DOWN;
    ev.a = -10;
    ev.text[0] = '7';
    CHECK(b->ops->oob(b, CO, &ev) == 0, "oob refused a digit");
    CHECK(next_event(b, LINE, &got) && got.type == BEV_DTMF_DOWN && got.a == -10 && strcmp(got.text, "7") == 0,
          "the digit arrived as type %d, a %d, '%s'", got.type, got.a, got.text);
    ev.type = BEV_DTMF_UP;
    b->ops->oob(b, CO, &ev);
    CHECK(only_event(b, LINE) == BEV_DTMF_UP, "the digit's end did not arrive");

    memset(&ev, 0, sizeof(ev));
    ev.type = BEV_CALLERID;
    strcpy(ev.text, "5551234\x1fJOHN DOE\x1f ");
    b->ops->oob(b, CO, &ev);
    CHECK(next_event(b, LINE, &got) && got.type == BEV_CALLERID && strcmp(got.text, ev.text) == 0,
          "caller ID arrived as '%s'", got.text);

    /* Both directions, both pairs. */
    memset(&ev, 0, sizeof(ev));
    ev.type = BEV_HEARD;
    ev.a = 2;
    ev.b = 3;
    b->ops->oob(b, LINE, &ev);
    CHECK(next_event(b, CO, &got) && got.type == BEV_HEARD && got.a == 2 && got.b == 3,
          "what the line plays did not reach the exchange");
    b->ops->oob(b, PHONE, &ev);
    CHECK(next_event(b, PORT, &got) && got.type == BEV_HEARD, "what the phone plays did not reach the port");

    /* A text filling the whole field arrives terminated. */
    memset(&ev, 0, sizeof(ev));
    ev.type = BEV_CALLERID;
    memset(ev.text, '9', sizeof(ev.text));
    b->ops->oob(b, CO, &ev);
    CHECK(next_event(b, LINE, &got) && strlen(got.text) == BOARD_TEXT_MAX - 1, "a full text arrived as %d characters",
          (int) strnlen(got.text, BOARD_TEXT_MAX));
    CHECK(no_events(b), "stray events");
    board_free(b);

    /* An audio board carries these as audio: oob does nothing there. */
    b = make_board(1, HANGUP_LOOP_BREAK);
    REQUIRE(b != NULL, "board setup failed");
    memset(&ev, 0, sizeof(ev));
    ev.type = BEV_DTMF_DOWN;
    ev.text[0] = '1';
    CHECK(b->ops->oob(b, CO, &ev) == 0 && no_events(b), "an audio board passed an oob event");
    board_free(b);
}

int main(void)
{
    CTEST_RUN(test_new_and_connect);
    CTEST_RUN(test_signalling);
    CTEST_RUN(test_event_queue_full);
    CTEST_RUN(test_hangup_signals);
    CTEST_RUN(test_alarm);
    CTEST_RUN(test_audio);
    CTEST_RUN(test_audio_through_line);
    CTEST_RUN(test_linear_audio);
    CTEST_RUN(test_linear_every_value);
    CTEST_RUN(test_signalling_only);
    return ctest_finish();
}
