/*
 * The engine on an E1 line, as the dahdi board presents one: a call offered with the
 * calling and dialled numbers in the signalling, a caller giving up before the answer,
 * a call placed with its number in the signalling, answered, or refused by the network.
 * The board here is a script of E1 events (the signalling itself is tested against
 * libpri and openr2 in test_e1sig_*, and on real DAHDI in tests/rig).
 */
#include <string.h>

#include "ctest.h"
#include "common.h"
#include "engine.h"

#define Q 16

typedef struct
{
    board_t base;
    board_event_t q[Q];
    int n;
    int hooks[Q];
    int nhooks;
    char dialled[32];
    int refuse_dial;
} e1_board_t;

static e1_board_t *of(board_t *b) { return (e1_board_t *) b; }
static int b_channels(board_t *b) { (void) b; return 1; }
static int b_kind(board_t *b, int ch) { (void) b; (void) ch; return KIND_FXO; }
static int b_has_audio(board_t *b) { (void) b; return 1; }
static int b_set_law(board_t *b, int ch, int law) { (void) b; (void) ch; (void) law; return 0; }
static int b_read(board_t *b, int ch, uint8_t *block) { (void) b; (void) ch; memset(block, 0xd5, FRAME_SAMPLES); return FRAME_SAMPLES; }
static int b_write(board_t *b, int ch, const uint8_t *block) { (void) b; (void) ch; (void) block; return FRAME_SAMPLES; }
static int b_oob(board_t *b, int ch, const board_event_t *ev) { (void) b; (void) ch; (void) ev; return 0; }
static void b_tick(board_t *b) { (void) b; }
static void b_free(board_t *b) { (void) b; }

static int b_hook(board_t *b, int ch, int op)
{
    (void) ch;
    if (of(b)->nhooks < Q)
        of(b)->hooks[of(b)->nhooks++] = op;
    return 0;
}

static int b_get_event(board_t *b, int ch, board_event_t *ev)
{
    e1_board_t *s = of(b);
    (void) ch;
    if (s->n == 0)
        return 0;
    *ev = s->q[0];
    memmove(s->q, s->q + 1, sizeof(s->q[0]) * (size_t) --s->n);
    return 1;
}

static int b_dial(board_t *b, int ch, const char *digits)
{
    (void) ch;
    if (of(b)->refuse_dial)
        return ERR_BOARD;
    snprintf(of(b)->dialled, sizeof(of(b)->dialled), "%s", digits);
    return 1;
}

static const struct board_ops e1_ops = {
    .name = "e1-script", .channels = b_channels, .kind = b_kind, .has_audio = b_has_audio,
    .set_law = b_set_law, .read = b_read, .write = b_write, .hook = b_hook, .get_event = b_get_event,
    .oob = b_oob, .tick = b_tick, .free = b_free, .dial = b_dial,
};

static void put(e1_board_t *s, int type, int a, const char *text)
{
    board_event_t *ev = &s->q[s->n++];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->a = a;
    if (text)
        snprintf(ev->text, sizeof(ev->text), "%s", text);
}

static engine_t *make(e1_board_t *s)
{
    engine_t *e;
    channel_config_t cfg;

    memset(s, 0, sizeof(*s));
    s->base.ops = &e1_ops;
    e = engine_new(&s->base);
    engine_default_config(KIND_FXO, &cfg);
    cfg.cid_standard = CID_V23;
    cfg.echocan_taps = 0;
    engine_configure(e, 1, &cfg);
    return e;
}

static const engine_event_t *find(const engine_batch_t *bt, int type)
{
    for (int i = 0; i < bt->nevents; i++)
        if (bt->events[i].type == type)
            return &bt->events[i];
    return NULL;
}

static void test_offered_call(void)
{
    e1_board_t s;
    engine_t *e = make(&s);
    const engine_batch_t *bt;
    const engine_event_t *ev;

    put(&s, BEV_CALLERID, 0, "0441234567\x1f\x1f ");
    put(&s, BEV_CALLED, 0, "201");
    put(&s, BEV_RING_BEGIN, 0, NULL);
    bt = engine_run(e, 1, 0);
    ev = find(bt, EV_CALLERID);
    CHECK(ev && strcmp(ev->text, "0441234567") == 0, "the calling number: %s", ev ? ev->text : "none");
    ev = find(bt, EV_CALLED);
    CHECK(ev && strcmp(ev->text, "201") == 0, "the dialled number: %s", ev ? ev->text : "none");
    CHECK(find(bt, EV_RING) != NULL && engine_state(e, 1) == ST_RINGING, "ringing");
    /* Answered; the network clears. */
    CHECK(engine_answer(e, 1) == 0 && s.hooks[s.nhooks - 1] == HOOK_OFFHOOK, "answered");
    put(&s, BEV_LOOP_LOST, 0, NULL);
    bt = engine_run(e, 1, 0);
    ev = find(bt, EV_HANGUP);
    CHECK(ev && ev->a == CAUSE_LOOP_BREAK, "the far end cleared");
    engine_free(e);
}

static void test_caller_gives_up_before_the_answer(void)
{
    e1_board_t s;
    engine_t *e = make(&s);
    const engine_batch_t *bt;

    put(&s, BEV_RING_BEGIN, 0, NULL);
    engine_run(e, 1, 0);
    put(&s, BEV_LOOP_LOST, 0, NULL);
    bt = engine_run(e, 1, 0);
    /* At once, not after the ring timeout an analog line needs. */
    CHECK(find(bt, EV_RING_TIMEOUT) != NULL && engine_state(e, 1) == ST_IDLE, "the caller gave up");
    engine_free(e);
}

static void test_placed_call(void)
{
    e1_board_t s;
    engine_t *e = make(&s);
    const engine_batch_t *bt;
    const engine_event_t *ev;

    CHECK(engine_seize(e, 1) == 0, "seized");
    CHECK(engine_dial(e, 1, "0501112233") == 0 && strcmp(s.dialled, "0501112233") == 0,
          "the number went to the board: %s", s.dialled);
    bt = engine_run(e, 1, 0);
    CHECK(find(bt, EV_DIALED) != NULL, "dialled at once");
    CHECK(find(bt, EV_PLAY_DONE) == NULL, "no tones played");
    put(&s, BEV_ANSWERED, 0, NULL);
    bt = engine_run(e, 1, 0);
    CHECK(find(bt, EV_ANSWERED) != NULL, "answered");
    engine_hangup(e, 1);

    engine_seize(e, 1);
    engine_dial(e, 1, "0501112234");
    engine_run(e, 1, 0);
    put(&s, BEV_CLEARED, 17, NULL);
    bt = engine_run(e, 1, 0);
    ev = find(bt, EV_HANGUP);
    CHECK(ev && ev->a == CAUSE_CLEARED && ev->b == 17, "refused by the network with its cause (17, busy)");
    engine_hangup(e, 1);

    s.refuse_dial = 1;
    engine_seize(e, 1);
    CHECK(engine_dial(e, 1, "0501112235") == ERR_BOARD, "the board could not place it");
    engine_free(e);
}

int main(void)
{
    CTEST_RUN(test_offered_call);
    CTEST_RUN(test_caller_gives_up_before_the_answer);
    CTEST_RUN(test_placed_call);
    return ctest_finish();
}
