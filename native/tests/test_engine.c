/*
 * The engine through its public API (engine.h) on a simulated board: calls in and
 * out, caller ID, prompts, digits, barge-in, bridges, every way a call ends, alarms,
 * the signalling-only board, and every command refused with the right code and a
 * message that names the channel. Also the valgrind target: quick, and it frees all.
 */
#include <math.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "levels.h"
#include "board_sim.h"
#include "engine.h"

/* The office: two lines from the exchange (one clean, one lossy, noisy and echoing),
   one phone port, and a line whose port is never configured. */
#define LINE_A 1
#define CO_A 2
#define LINE_B 3
#define CO_B 4
#define PORT 5
#define PHONE 6
#define LINE_C 7
#define CO_C 8
#define NCH 10

typedef struct
{
    engine_t *e;
    board_t *b;
} office_t;

#define LOG_MAX 8192
static engine_event_t evlog[LOG_MAX];
static int nlog;

/* What one tapped channel heard, by engine sample. */
#define CAP_MAX (SAMPLE_RATE * 6)
static int16_t cap[CAP_MAX];
static int cap_ch;
static int64_t cap_from;
static int cap_frames;

static int16_t prompt_pcm[SAMPLE_RATE * 2];

static const char *const event_names[] =
{
    "?", "ring", "ring-timeout", "callerid", "offhook", "hangup", "flash", "digit", "collected", "play-done",
    "tone", "alarm", "noalarm", "heard", "digits-sent", "polarity", "dialed"
};

static const char *ev_name(int type)
{
    return (type > 0 && type <= EV_DIALED) ? event_names[type] : "?";
}

static void log_batch(const engine_batch_t *bt)
{
    for (int i = 0; i < bt->nevents; i++)
    {
        if (nlog < LOG_MAX)
            evlog[nlog++] = bt->events[i];
    }
    for (int i = 0; i < bt->ntaps; i++)
    {
        const tap_frame_t *t = &bt->taps[i];
        int64_t pos = t->sample - cap_from;

        if (t->chan == cap_ch && pos >= 0 && pos + FRAME_SAMPLES <= CAP_MAX)
        {
            memcpy(cap + pos, t->rx, sizeof(t->rx));
            cap_frames++;
        }
    }
}

static void run_frames(engine_t *e, int frames)
{
    while (frames > 0)
    {
        const engine_batch_t *bt = engine_run(e, frames, 0);

        log_batch(bt);
        if (bt->frames <= 0)
            break;
        frames -= bt->frames;
    }
}

static void run_ms(engine_t *e, int ms)
{
    run_frames(e, ms / FRAME_MS);
}

static int mark(void)
{
    return nlog;
}

static const engine_event_t *find(int from, int ch, int type)
{
    for (int i = from; i < nlog; i++)
    {
        if (evlog[i].chan == ch && evlog[i].type == type)
            return &evlog[i];
    }
    return NULL;
}

static int count(int from, int ch, int type)
{
    int n = 0;

    for (int i = from; i < nlog; i++)
        n += (evlog[i].chan == ch && evlog[i].type == type);
    return n;
}

static void dump(int from, int ch)
{
    for (int i = from; i < nlog; i++)
    {
        if (ch == 0 || evlog[i].chan == ch)
            printf("     %8.3f s  ch %d  %-12s a=%d b=%d c=%d '%s' '%s'\n", evlog[i].sample / 8000.0, evlog[i].chan,
                   ev_name(evlog[i].type), evlog[i].a, evlog[i].b, evlog[i].c, evlog[i].text, evlog[i].text2);
    }
}

/* Runs frame by frame until the event is logged (since `from`) or max_ms pass. */
static const engine_event_t *wait_for(office_t *o, int from, int ch, int type, int max_ms)
{
    const engine_event_t *ev;

    for (int t = 0;; t += FRAME_MS)
    {
        if ((ev = find(from, ch, type)) != NULL)
            return ev;
        if (t >= max_ms)
            break;
        run_frames(o->e, 1);
    }
    printf("     no %s on channel %d within %d ms; events since:\n", ev_name(type), ch, max_ms);
    dump(from, 0);
    return NULL;
}

/* When the end of something `ms` long that began at a frame's start is reported: with
   the frame that plays its last sample. */
static int done_ms(int ms)
{
    return ((ms + FRAME_MS - 1) / FRAME_MS - 1) * FRAME_MS;
}

static int ms_since(const engine_event_t *ev, int64_t t0)
{
    return (int) ((ev->sample - t0) / (SAMPLE_RATE / 1000));
}

static void capture(office_t *o, int ch)
{
    engine_tap(o->e, ch, 1);
    cap_ch = ch;
    cap_from = engine_now(o->e);
    cap_frames = 0;
    memset(cap, 0, sizeof(cap));
}

static void capture_stop(office_t *o)
{
    engine_tap(o->e, cap_ch, 0);
    cap_ch = 0;
}

/* Normalised correlation of the prompt with what was captured `lag` samples later. */
static double correlation(const int16_t *ref, int n, int lag)
{
    double xy = 0.0;
    double xx = 0.0;
    double yy = 0.0;

    for (int i = 0; i < n && lag + i < CAP_MAX; i++)
    {
        xy += (double) ref[i] * cap[lag + i];
        xx += (double) ref[i] * ref[i];
        yy += (double) cap[lag + i] * cap[lag + i];
    }
    return (xx > 0.0 && yy > 0.0) ? xy / sqrt(xx * yy) : 0.0;
}

static int best_lag(const int16_t *ref, int n, int max_lag, double *corr)
{
    int best = -1;

    *corr = 0.0;
    for (int lag = 0; lag <= max_lag; lag++)
    {
        double c = correlation(ref, n, lag);
        if (c > *corr)
        {
            *corr = c;
            best = lag;
        }
    }
    return best;
}

static int configure(office_t *o, int ch, int cid_standard, int cid_when)
{
    channel_config_t cfg;

    engine_default_config(engine_channel_kind(o->e, ch), &cfg);
    cfg.cid_standard = cid_standard;
    cfg.cid_when = cid_when;
    return engine_configure(o->e, ch, &cfg);
}

static int office_open(office_t *o, int audio)
{
    line_params_t clean;
    line_params_t rough;

    nlog = 0;
    cap_ch = 0;
    line_params_default(&clean);
    line_params_default(&rough);
    rough.loss_db = 3.0f;
    rough.noise_dbm0 = -60.0f;
    rough.echo_delay_ms = 8;
    rough.echo_return_loss_db = 20.0f;
    if ((o->b = board_sim_new(NCH, audio)) == NULL)
        return -1;
    if (board_sim_connect(o->b, LINE_A, CO_A, KIND_FXO, &clean) < 0
        || board_sim_connect(o->b, LINE_B, CO_B, KIND_FXO, &rough) < 0
        || board_sim_connect(o->b, PORT, PHONE, KIND_FXS, &clean) < 0
        || board_sim_connect(o->b, LINE_C, CO_C, KIND_FXO, &clean) < 0
        || (o->e = engine_new(o->b)) == NULL)
    {
        board_free(o->b);
        return -1;
    }
    for (int ch = 1; ch <= CO_C; ch++)
    {
        if (ch != LINE_C && configure(o, ch, CID_NONE, CID_AFTER_FIRST_RING) < 0)
        {
            engine_free(o->e);
            return -1;
        }
    }
    return 0;
}

static void office_close(office_t *o)
{
    engine_free(o->e);
    o->e = NULL;
    o->b = NULL;
}

static dtmf_send_params_t keys(float level, int on_ms, int off_ms)
{
    dtmf_send_params_t p;

    memset(&p, 0, sizeof(p));
    p.level_low = level;
    p.level_high = level;
    p.on_ms = on_ms;
    p.off_ms = off_ms;
    return p;
}

static play_item_t item(int type, int id, int ms, const char *digits)
{
    play_item_t it;

    memset(&it, 0, sizeof(it));
    it.type = type;
    it.id = id;
    it.ms = ms;
    if (digits)
        strncpy(it.digits, digits, PLAY_MAX_DIGITS - 1);
    return it;
}

/* The exchange rings the line and the box answers on the first ring. */
static int call_in(office_t *o, int line, int co)
{
    int m = mark();
    const engine_event_t *ring;

    if (engine_ring(o->e, co, CID_NONE, CID_AFTER_FIRST_RING, NULL) < 0)
        return -1;
    /* Every call counts its rings from one. */
    if ((ring = wait_for(o, m, line, EV_RING, 100)) == NULL || ring->a != 1 || engine_answer(o->e, line) < 0)
        return -1;
    if (wait_for(o, m, co, EV_OFFHOOK, 100) == NULL)
        return -1;
    return 0;
}

/* Both sides back to idle, the box first. */
static void call_end(office_t *o, int line, int co)
{
    engine_hangup(o->e, line);
    run_ms(o->e, 60);
    engine_hangup(o->e, co);
    run_ms(o->e, 60);
}

static void make_prompt(void)
{
    noise_state_t *nz = noise_init_dbm0(NULL, 4242, -18.0f, NOISE_CLASS_AWGN, 0);

    for (unsigned i = 0; i < sizeof(prompt_pcm) / sizeof(prompt_pcm[0]); i++)
        prompt_pcm[i] = noise(nz);
    noise_free(nz);
}

/* ---- the cases ---- */

static void test_lifecycle(void)
{
    office_t o;
    channel_config_t cfg;

    CHECK(engine_new(NULL) == NULL, "an engine without a board");
    engine_free(NULL);
    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    CHECK(engine_channels(o.e) == NCH, "%d channels", engine_channels(o.e));
    CHECK(engine_now(o.e) == 0, "the clock starts at %lld", (long long) engine_now(o.e));
    CHECK(engine_channel_kind(o.e, LINE_A) == KIND_FXO && engine_channel_kind(o.e, CO_A) == KIND_CO
          && engine_channel_kind(o.e, PORT) == KIND_FXS && engine_channel_kind(o.e, PHONE) == KIND_PHONE,
          "kinds are wrong");
    CHECK(engine_channel_kind(o.e, 9) == KIND_NONE && engine_channel_kind(o.e, 0) == KIND_NONE
          && engine_channel_kind(o.e, NCH + 1) == KIND_NONE, "kinds of channels that are no ports");
    for (int ch = 1; ch <= CO_C; ch++)
        CHECK(engine_state(o.e, ch) == ST_IDLE, "channel %d starts in state %d", ch, engine_state(o.e, ch));
    CHECK(engine_state(o.e, 0) == ERR_CHANNEL && engine_state(o.e, NCH + 1) == ERR_CHANNEL, "state of no channel");

    engine_default_config(KIND_FXO, &cfg);
    CHECK(cfg.law == LAW_ALAW && strcmp(cfg.plan, "itu") == 0 && cfg.busy_cycles == 2 && cfg.ring_timeout_ms == 8000,
          "FXO defaults");
    CHECK(cfg.detect == (DETECT_DTMF | DETECT_TONES | DETECT_BUSY_HANGUP), "an FXO line does not detect everything");
    engine_default_config(KIND_FXS, &cfg);
    CHECK(cfg.detect == DETECT_DTMF, "an FXS port detects %d", cfg.detect);
    engine_default_config(KIND_CO, &cfg);
    CHECK(cfg.detect == 0, "a far end detects %d by default", cfg.detect);

    /* Running an idle office moves the clock and nothing else. */
    {
        const engine_batch_t *bt = engine_run(o.e, 50, 0);
        CHECK(bt->frames == 50 && bt->sample == 50 * FRAME_SAMPLES && bt->nevents == 0 && bt->ntaps == 0,
              "an idle run: %d frames, %d events", bt->frames, bt->nevents);
        CHECK(engine_now(o.e) == 50 * FRAME_SAMPLES, "the clock is at %lld", (long long) engine_now(o.e));
        bt = engine_run(o.e, 0, 0);
        CHECK(bt->frames == 0 && bt->nevents == 0, "a run of no frames did something");
    }
    for (int code = ERR_AUDIO; code <= ERR_OK; code++)
    {
        CHECK(engine_strerror(code) != NULL && strcmp(engine_strerror(code), "unknown error") != 0,
              "code %d has no message", code);
        for (int other = ERR_AUDIO; other < code; other++)
            CHECK(strcmp(engine_strerror(code), engine_strerror(other)) != 0, "codes %d and %d read the same", code,
                  other);
    }
    CHECK(strcmp(engine_strerror(-99), "unknown error") == 0, "code -99 has a message");
    office_close(&o);
}

/* A call from the exchange: rings counted, caller ID between the first two rings,
   answered, a prompt played to the caller, and the caller hangs up. */
static void test_incoming_call(void)
{
    office_t o;
    cid_info_t cid;
    const engine_event_t *ev;
    int m;
    int pid;
    int64_t t0;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(configure(&o, LINE_A, CID_V23, CID_AFTER_FIRST_RING) == 0, "configure failed");
    memset(&cid, 0, sizeof(cid));
    strcpy(cid.number, "4951234567");
    strcpy(cid.name, "IVANOV I I");
    m = mark();
    CHECK(engine_ring(o.e, CO_A, CID_V23, CID_AFTER_FIRST_RING, &cid) == 0, "ring failed: %s", engine_error(o.e));
    CHECK(engine_state(o.e, CO_A) == ST_RINGING, "the exchange is not ringing");
    ev = wait_for(&o, m, LINE_A, EV_RING, 100);
    CHECK(ev && ev->a == 1 && ev->sample == 0, "first ring: count %d at %lld", ev ? ev->a : -1,
          ev ? (long long) ev->sample : -1LL);
    CHECK(engine_state(o.e, LINE_A) == ST_RINGING, "the line is in state %d", engine_state(o.e, LINE_A));
    ev = wait_for(&o, m, LINE_A, EV_CALLERID, 4000);
    CHECK(ev && strcmp(ev->text, "4951234567") == 0 && strcmp(ev->text2, "IVANOV I I") == 0 && ev->a == 0,
          "caller ID '%s' '%s' absence %d", ev ? ev->text : "", ev ? ev->text2 : "", ev ? ev->a : -1);
    /* ITU ringing: 1 s on, 4 s off; caller ID fits in the silence. */
    CHECK(ev && ms_since(ev, 0) > 1500 && ms_since(ev, 0) < 5000, "caller ID came at %d ms", ev ? ms_since(ev, 0) : -1);
    ev = wait_for(&o, m, LINE_A, EV_RING, 100);
    ev = wait_for(&o, ev ? (int) (ev - evlog) + 1 : m, LINE_A, EV_RING, 5000);
    CHECK(ev && ev->a == 2 && abs(ms_since(ev, 0) - 5000) <= FRAME_MS, "second ring: count %d at %d ms",
          ev ? ev->a : -1, ev ? ms_since(ev, 0) : -1);
    CHECK(count(m, LINE_A, EV_CALLERID) == 1, "%d caller IDs", count(m, LINE_A, EV_CALLERID));

    m = mark();
    CHECK(engine_answer(o.e, LINE_A) == 0, "answer failed: %s", engine_error(o.e));
    CHECK(engine_state(o.e, LINE_A) == ST_OFFHOOK, "answered line in state %d", engine_state(o.e, LINE_A));
    ev = wait_for(&o, m, CO_A, EV_OFFHOOK, 100);
    CHECK(ev && ev->a == 1, "the exchange did not see an answer to its ringing");
    run_ms(o.e, 6000);
    CHECK(count(m, LINE_A, EV_RING) == 0, "the line still rings after the answer");
    CHECK(engine_state(o.e, CO_A) == ST_OFFHOOK, "the exchange is in state %d", engine_state(o.e, CO_A));

    /* A prompt: the caller hears exactly it, one tick later, and it lasts its length. */
    pid = engine_prompt_add(o.e, prompt_pcm, 8000);
    CHECK(pid > 0 && engine_prompt_samples(o.e, pid) == 8000, "prompt_add gave %d", pid);
    capture(&o, CO_A);
    m = mark();
    t0 = engine_now(o.e);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        CHECK(engine_play(o.e, LINE_A, &it, 1, 0, 0) == 0, "play failed: %s", engine_error(o.e));
    }
    CHECK(engine_state(o.e, LINE_A) == ST_PLAYING, "playing line in state %d", engine_state(o.e, LINE_A));
    ev = wait_for(&o, m, LINE_A, EV_PLAY_DONE, 2000);
    /* Complete: every step played, so the step reached is the one after the last. */
    CHECK(ev && ev->a == PLAY_COMPLETE && ev->b == 1, "play ended with %d at step %d", ev ? ev->a : -1,
          ev ? ev->b : -1);
    /* The event comes with the frame that plays the last sample. */
    CHECK(ev && ev->sample == t0 + 8000 - FRAME_SAMPLES, "play done at %lld, started %lld",
          ev ? (long long) ev->sample : -1LL, (long long) t0);
    CHECK(engine_state(o.e, LINE_A) == ST_OFFHOOK, "after the prompt the line is in state %d",
          engine_state(o.e, LINE_A));
    run_ms(o.e, 100);
    {
        double corr;
        int lag = best_lag(prompt_pcm, 8000, 800, &corr);
        CHECK(lag == FRAME_SAMPLES && corr > 0.99, "the caller heard the prompt %d samples late, correlation %.3f",
              lag, corr);
        /* A-law's quietest code is +-8: -66 dBm0. */
        CHECK(power_dbm0(cap + FRAME_SAMPLES + 8000, 800) < -60.0f, "the caller hears something after the prompt");
    }
    capture_stop(&o);
    CHECK(engine_prompt_remove(o.e, pid) == 0, "the played prompt cannot be removed");

    /* The caller hangs up: loop break. */
    m = mark();
    CHECK(engine_hangup(o.e, CO_A) == 0, "the exchange's hangup failed");
    ev = wait_for(&o, m, LINE_A, EV_HANGUP, 100);
    CHECK(ev && ev->a == CAUSE_LOOP_BREAK, "hangup cause %d", ev ? ev->a : -1);
    CHECK(engine_state(o.e, LINE_A) == ST_HUNGUP, "after the hangup the line is in state %d", engine_state(o.e, LINE_A));
    CHECK(engine_hangup(o.e, LINE_A) == 0 && engine_state(o.e, LINE_A) == ST_IDLE, "the line did not go idle");
    run_ms(o.e, 60);
    CHECK(engine_state(o.e, CO_A) == ST_IDLE, "the exchange is in state %d", engine_state(o.e, CO_A));
    office_close(&o);
}

/* Each caller ID standard, on the lossy, noisy, echoing line: FSK after the first
   ring, DTMF before it; private and unavailable callers. */
static void test_caller_id_standards(void)
{
    static const struct
    {
        int standard;
        int when;
        const char *number;
        const char *name;
        char absence;
    } cases[] =
    {
        {CID_BELL202, CID_AFTER_FIRST_RING, "2125551212", "JOHN DOE", 0},
        {CID_V23, CID_AFTER_FIRST_RING, "", "", 'P'},
        {CID_DTMF, CID_BEFORE_FIRST_RING, "380441234567", "", 0},
        {CID_DTMF, CID_BEFORE_FIRST_RING, "", "", 'O'},
        {CID_BELL202, CID_AFTER_FIRST_RING, "", "WITHHELD", 'P'},
    };
    office_t o;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
    {
        cid_info_t cid;
        const engine_event_t *ev;
        const engine_event_t *ring;
        int m = mark();

        CHECK(configure(&o, LINE_B, cases[k].standard, cases[k].when) == 0, "configure failed");
        memset(&cid, 0, sizeof(cid));
        strcpy(cid.number, cases[k].number);
        strcpy(cid.name, cases[k].name);
        cid.absence = cases[k].absence;
        CHECK(engine_ring(o.e, CO_B, cases[k].standard, cases[k].when, &cid) == 0, "ring failed: %s",
              engine_error(o.e));
        ev = wait_for(&o, m, LINE_B, EV_CALLERID, 6000);
        CHECK(ev && strcmp(ev->text, cases[k].number) == 0 && ev->a == cases[k].absence
              && (cases[k].standard == CID_DTMF || strcmp(ev->text2, cases[k].name) == 0),
              "case %u: caller ID '%s' '%s' absence %d, sent '%s' '%s' %d", k, ev ? ev->text : "", ev ? ev->text2 : "",
              ev ? ev->a : -1, cases[k].number, cases[k].name, cases[k].absence);
        ring = wait_for(&o, m, LINE_B, EV_RING, 3000);
        if (ev && ring)
        {
            if (cases[k].when == CID_BEFORE_FIRST_RING)
                CHECK(ev < ring && ring->a == 1, "case %u: caller ID after the first ring", k);
            else
                CHECK(ring < ev && ring->a == 1, "case %u: caller ID before the first ring", k);
        }
        CHECK(engine_answer(o.e, LINE_B) == 0, "case %u: answer failed: %s", k, engine_error(o.e));
        run_ms(o.e, 100);
        call_end(&o, LINE_B, CO_B);
        CHECK(engine_state(o.e, LINE_B) == ST_IDLE && engine_state(o.e, CO_B) == ST_IDLE, "case %u: not idle", k);
    }
    office_close(&o);
}

/* Digits from the far end, collected with a terminator, a maximum and timeouts. */
static void test_digits(void)
{
    office_t o;
    dtmf_send_params_t p = keys(-10.0f, 80, 80);
    const engine_event_t *ev;
    int m;
    int64_t t0;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(call_in(&o, LINE_B, CO_B) == 0, "the call did not come in");
    run_ms(o.e, 200);

    /* Terminator. */
    m = mark();
    CHECK(engine_collect(o.e, LINE_B, 10, "#", 5000, 3000) == 0, "collect failed: %s", engine_error(o.e));
    CHECK(engine_state(o.e, LINE_B) == ST_COLLECTING, "collecting line in state %d", engine_state(o.e, LINE_B));
    t0 = engine_now(o.e);
    CHECK(engine_send_digits(o.e, CO_B, "123#", &p) == 0, "send_digits failed: %s", engine_error(o.e));
    ev = wait_for(&o, m, LINE_B, EV_COLLECTED, 2000);
    CHECK(ev && strcmp(ev->text, "123") == 0 && ev->a == COLLECT_TERMINATOR && ev->b == 3,
          "collected '%s' (%d digits), end %d", ev ? ev->text : "", ev ? ev->b : -1, ev ? ev->a : -1);
    {
        const char *sent = "123#";
        int k = 0;

        for (int i = m; i < nlog; i++)
        {
            const engine_event_t *d = &evlog[i];
            /* Heard one tick after it is sent, every 160 ms. */
            int64_t start = t0 + FRAME_SAMPLES + k * MS_TO_SAMPLES(160);

            if (d->chan != LINE_B || d->type != EV_DIGIT)
                continue;
            CHECK(k < 4 && d->a == sent[k], "digit %d is '%c'", k, d->a);
            CHECK(abs(d->b - 80) <= 20, "digit %d lasted %d ms, sent 80", k, d->b);
            /* Two tones at -10 dBm0 each, 3 dB line loss: about -10 dBm0 in all. */
            CHECK(abs(d->c - (-10)) <= 3, "digit %d at %d dBm0", k, d->c);
            CHECK(llabs(d->sample - start) <= MS_TO_SAMPLES(20), "digit %d began at %+d ms from its start", k,
                  (int) (d->sample - start) / 8);
            k++;
        }
        CHECK(k == 4, "%d digits reported, 4 sent", k);
    }
    CHECK(wait_for(&o, m, CO_B, EV_DIGITS_SENT, 500) != NULL, "the far end never finished sending");
    CHECK(engine_state(o.e, LINE_B) == ST_OFFHOOK, "after collecting the line is in state %d",
          engine_state(o.e, LINE_B));

    /* Maximum: the rest of the digits are reported but not collected. */
    m = mark();
    engine_collect(o.e, LINE_B, 3, "#", 5000, 3000);
    engine_send_digits(o.e, CO_B, "98765", &p);
    ev = wait_for(&o, m, LINE_B, EV_COLLECTED, 2000);
    CHECK(ev && strcmp(ev->text, "987") == 0 && ev->a == COLLECT_MAX, "collected '%s', end %d", ev ? ev->text : "",
          ev ? ev->a : -1);
    wait_for(&o, m, CO_B, EV_DIGITS_SENT, 1000);
    run_ms(o.e, 300);
    CHECK(count(m, LINE_B, EV_DIGIT) == 5 && count(m, LINE_B, EV_COLLECTED) == 1, "%d digits, %d collections",
          count(m, LINE_B, EV_DIGIT), count(m, LINE_B, EV_COLLECTED));

    /* First-digit timeout. */
    m = mark();
    t0 = engine_now(o.e);
    engine_collect(o.e, LINE_B, 4, "#", 1000, 3000);
    ev = wait_for(&o, m, LINE_B, EV_COLLECTED, 2000);
    CHECK(ev && ev->text[0] == '\0' && ev->a == COLLECT_TIMEOUT, "no digits: collected '%s', end %d",
          ev ? ev->text : "", ev ? ev->a : -1);
    CHECK(ev && abs(ms_since(ev, t0) - 1000) <= FRAME_MS, "the first-digit timeout took %d ms",
          ev ? ms_since(ev, t0) : -1);

    /* Inter-digit timeout, counted from the end of the last digit. */
    m = mark();
    engine_collect(o.e, LINE_B, 4, "#", 5000, 800);
    engine_send_digits(o.e, CO_B, "4", &p);
    ev = wait_for(&o, m, LINE_B, EV_COLLECTED, 2000);
    CHECK(ev && strcmp(ev->text, "4") == 0 && ev->a == COLLECT_TIMEOUT, "collected '%s', end %d", ev ? ev->text : "",
          ev ? ev->a : -1);
    {
        const engine_event_t *d = find(m, LINE_B, EV_DIGIT);
        CHECK(d && ev && abs(ms_since(ev, d->sample) - d->b - 800) <= 40,
              "the inter-digit timeout came %d ms after the digit ended", d && ev ? ms_since(ev, d->sample) - d->b : -1);
    }

    /* Cancelled: no result, and nothing left running. */
    m = mark();
    CHECK(engine_collect(o.e, LINE_B, 4, "#", 1000, 1000) == 0, "collect failed");
    CHECK(engine_collect(o.e, LINE_B, 4, "#", 1000, 1000) == ERR_STATE, "a second collection was started");
    CHECK(engine_collect_cancel(o.e, LINE_B) == 0, "cancel failed");
    CHECK(engine_collect_cancel(o.e, LINE_B) == ERR_STATE, "a second cancel succeeded");
    run_ms(o.e, 1500);
    CHECK(count(m, LINE_B, EV_COLLECTED) == 0, "a cancelled collection reported");

    /* With DTMF detection off the line hears no digits. */
    m = mark();
    CHECK(engine_detect(o.e, LINE_B, DETECT_TONES | DETECT_BUSY_HANGUP) == 0, "detect failed");
    engine_send_digits(o.e, CO_B, "55", &p);
    run_ms(o.e, 600);
    CHECK(count(m, LINE_B, EV_DIGIT) == 0, "digits heard with DTMF detection off");
    engine_detect(o.e, LINE_B, DETECT_DTMF | DETECT_TONES | DETECT_BUSY_HANGUP);
    m = mark();
    engine_send_digits(o.e, CO_B, "*", &p);
    ev = wait_for(&o, m, LINE_B, EV_DIGIT, 600);
    CHECK(ev && ev->a == '*', "digits not heard with DTMF detection back on");
    call_end(&o, LINE_B, CO_B);
    office_close(&o);
}

/* Play lists: every kind of step, their total length, barge-in, loops and stop. */
static void test_playback_and_barge_in(void)
{
    office_t o;
    dtmf_send_params_t p = keys(-8.0f, 80, 80);
    const engine_event_t *ev;
    int pid;
    int m;
    int64_t t0;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
    pid = engine_prompt_add(o.e, prompt_pcm, 16000);

    /* Interruptible: a digit stops the prompt at once, and is collected. */
    m = mark();
    t0 = engine_now(o.e);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        CHECK(engine_play(o.e, LINE_A, &it, 1, 0, 1) == 0, "play failed: %s", engine_error(o.e));
    }
    engine_collect(o.e, LINE_A, 1, "", 5000, 5000);
    run_ms(o.e, 500);
    engine_send_digits(o.e, CO_A, "5", &p);
    ev = wait_for(&o, m, LINE_A, EV_PLAY_DONE, 2000);
    CHECK(ev && ev->a == PLAY_INTERRUPTED && ev->b == 0, "the prompt ended with %d at step %d", ev ? ev->a : -1,
          ev ? ev->b : -1);
    /* Stopped while the key is down: within the detector's reaction time. */
    CHECK(ev && ms_since(ev, t0) >= 500 && ms_since(ev, t0) <= 500 + 20 + 80, "barge-in took %d ms",
          ev ? ms_since(ev, t0) - 500 : -1);
    ev = wait_for(&o, m, LINE_A, EV_COLLECTED, 500);
    CHECK(ev && strcmp(ev->text, "5") == 0 && ev->a == COLLECT_MAX, "collected '%s'", ev ? ev->text : "");

    /* Not interruptible: the digit is heard, the prompt plays to its end. */
    wait_for(&o, m, CO_A, EV_DIGITS_SENT, 500);
    m = mark();
    t0 = engine_now(o.e);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        engine_play(o.e, LINE_A, &it, 1, 0, 0);
    }
    run_ms(o.e, 200);
    engine_send_digits(o.e, CO_A, "6", &p);
    ev = wait_for(&o, m, LINE_A, EV_PLAY_DONE, 3000);
    CHECK(ev && ev->a == PLAY_COMPLETE && ms_since(ev, t0) == done_ms(2000), "the prompt ended with %d after %d ms",
          ev ? ev->a : -1, ev ? ms_since(ev, t0) : -1);
    CHECK(find(m, LINE_A, EV_DIGIT) != NULL, "the digit under the prompt was not heard");

    /* Every kind of step: the list lasts the sum of their lengths. */
    {
        play_item_t list[4];

        list[0] = item(PLAY_PROMPT, pid, 0, NULL);
        list[1] = item(PLAY_SILENCE, 0, 300, NULL);
        list[2] = item(PLAY_TONE, TONE_BUSY, 700, NULL);
        list[3] = item(PLAY_DIGITS, 0, 0, "0123");
        m = mark();
        t0 = engine_now(o.e);
        CHECK(engine_play(o.e, LINE_A, list, 4, 0, 0) == 0, "play failed: %s", engine_error(o.e));
        ev = wait_for(&o, m, LINE_A, EV_PLAY_DONE, 5000);
        /* 2000 + 300 + 700 + 4 x 105 ms */
        CHECK(ev && ev->a == PLAY_COMPLETE && ev->b == 4 && ms_since(ev, t0) == done_ms(3420),
              "the list ended with %d at step %d after %d ms", ev ? ev->a : -1, ev ? ev->b : -1,
              ev ? ms_since(ev, t0) : -1);
        /* The far end did not take the box's busy tone for a hangup of its own. */
        CHECK(count(m, LINE_A, EV_HANGUP) == 0 && count(m, CO_A, EV_HANGUP) == 0, "a played tone hung up a call");
    }

    /* A loop plays until stopped; stopping it is reported. */
    {
        play_item_t list[2];

        list[0] = item(PLAY_PROMPT, pid, 0, NULL);
        list[1] = item(PLAY_SILENCE, 0, 100, NULL);
        m = mark();
        CHECK(engine_play(o.e, LINE_A, list, 2, 1, 0) == 0, "loop failed: %s", engine_error(o.e));
        run_ms(o.e, 5000);
        CHECK(count(m, LINE_A, EV_PLAY_DONE) == 0 && engine_state(o.e, LINE_A) == ST_PLAYING, "the loop ended");
        CHECK(engine_prompt_remove(o.e, pid) == ERR_PROMPT, "a prompt in a loop was removed");
        CHECK(engine_stop(o.e, LINE_A) == 0, "stop failed");
        CHECK(engine_state(o.e, LINE_A) == ST_OFFHOOK, "a stopped line is in state %d", engine_state(o.e, LINE_A));
        run_frames(o.e, 1);
        ev = find(m, LINE_A, EV_PLAY_DONE);
        CHECK(ev && ev->a == PLAY_STOPPED, "the stop was not reported (%d)", ev ? ev->a : -1);
        CHECK(engine_stop(o.e, LINE_A) == 0 && count(m, LINE_A, EV_PLAY_DONE) == 1,
              "stopping nothing was reported");
    }

    /* A new list replaces the one playing, which reports that it was stopped. */
    {
        play_item_t tone = item(PLAY_TONE, TONE_DIAL, 0, NULL);
        play_item_t silence = item(PLAY_SILENCE, 0, 100, NULL);

        m = mark();
        engine_play(o.e, LINE_A, &tone, 1, 0, 0);
        run_ms(o.e, 200);
        engine_play(o.e, LINE_A, &silence, 1, 0, 0);
        run_ms(o.e, 200);
        CHECK(count(m, LINE_A, EV_PLAY_DONE) == 2, "%d play-done events, expected 2",
              count(m, LINE_A, EV_PLAY_DONE));
        ev = find(m, LINE_A, EV_PLAY_DONE);
        CHECK(ev && ev->a == PLAY_STOPPED, "the replaced list ended with %d", ev ? ev->a : -1);
    }
    CHECK(engine_prompt_remove(o.e, pid) == 0, "the prompt cannot be removed after its lists ended");
    CHECK(engine_prompt_samples(o.e, pid) == ERR_PROMPT, "a removed prompt still has samples");

    /* Ending the call ends what runs on it, and says so. */
    pid = engine_prompt_add(o.e, prompt_pcm, 16000);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        engine_play(o.e, LINE_A, &it, 1, 0, 0);
    }
    engine_collect(o.e, LINE_A, 4, "#", 5000, 5000);
    m = mark();
    engine_hangup(o.e, LINE_A);
    run_frames(o.e, 1);
    ev = find(m, LINE_A, EV_PLAY_DONE);
    CHECK(ev && ev->a == PLAY_STOPPED, "the hangup's stop of the prompt was not reported");
    ev = find(m, LINE_A, EV_COLLECTED);
    CHECK(ev && ev->a == COLLECT_CANCELLED, "the hangup's cancelling of the collection was not reported");
    CHECK(engine_prompt_remove(o.e, pid) == 0, "the hangup left the prompt in use");
    run_ms(o.e, 60);
    engine_hangup(o.e, CO_A);
    office_close(&o);
}

/* Two calls bridged: each caller hears the other, two ticks later. */
/* The talk-off guard. LINE_B's hybrid returns the box's audio 20 dB down; with its
   echo canceller off, the echo of a prompt holding a loud '5' reaches the receiver at
   about -26 dBm0, plenty for a digit, and must not be reported. A caller's '9' over
   the same prompt must be. */
static void test_talk_off_guard(void)
{
    static int16_t pcm[SAMPLE_RATE];
    office_t o;
    channel_config_t cfg;
    dtmf_send_params_t p = keys(-12.0f, 80, 80);
    const engine_event_t *ev;
    int pid, m;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    engine_default_config(KIND_FXO, &cfg);
    cfg.echocan_taps = 0;
    REQUIRE(engine_configure(o.e, LINE_B, &cfg) == 0, "configure failed: %s", engine_error(o.e));
    REQUIRE(call_in(&o, LINE_B, CO_B) == 0, "the call did not come in");
    {
        /* 400 ms of quiet, then '5' (770 + 1336 Hz) at -6 dBm0 a tone for 120 ms. */
        uint32_t p1 = 0, p2 = 0;
        int32_t r1 = dds_phase_rate(770.0f), r2 = dds_phase_rate(1336.0f);
        int16_t a = dds_scaling_dbm0(-6.0f);

        memset(pcm, 0, sizeof(pcm));
        for (int i = 3200; i < 3200 + 960; i++)
            pcm[i] = dds_mod(&p1, r1, a, 0) + dds_mod(&p2, r2, a, 0);
    }
    pid = engine_prompt_add(o.e, pcm, SAMPLE_RATE);
    m = mark();
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        CHECK(engine_play(o.e, LINE_B, &it, 1, 0, 0) == 0, "play failed: %s", engine_error(o.e));
    }
    wait_for(&o, m, LINE_B, EV_PLAY_DONE, 2000);
    CHECK(count(m, LINE_B, EV_DIGIT) == 0, "the prompt's own '5' came back as a digit");

    m = mark();
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        engine_play(o.e, LINE_B, &it, 1, 0, 0);
    }
    run_ms(o.e, 200);
    engine_send_digits(o.e, CO_B, "9", &p);
    wait_for(&o, m, LINE_B, EV_PLAY_DONE, 2000);
    ev = find(m, LINE_B, EV_DIGIT);
    CHECK(ev && ev->a == '9' && count(m, LINE_B, EV_DIGIT) == 1, "the caller's key came through as %c, %d digits",
          ev ? ev->a : '-', count(m, LINE_B, EV_DIGIT));
    office_close(&o);
}

static void test_bridge(void)
{
    office_t o;
    int pa;
    int pb;
    int m;
    double corr;
    int lag;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0 && call_in(&o, LINE_B, CO_B) == 0, "the calls did not come in");
    pa = engine_prompt_add(o.e, prompt_pcm, 4000);
    pb = engine_prompt_add(o.e, prompt_pcm + 4000, 4000);
    {
        play_item_t it = item(PLAY_SILENCE, 0, 5000, NULL);
        engine_play(o.e, LINE_A, &it, 1, 0, 0);
    }
    m = mark();
    CHECK(engine_bridge(o.e, LINE_A, LINE_B) == 0, "bridge failed: %s", engine_error(o.e));
    CHECK(engine_state(o.e, LINE_A) == ST_BRIDGED && engine_state(o.e, LINE_B) == ST_BRIDGED, "states %d/%d",
          engine_state(o.e, LINE_A), engine_state(o.e, LINE_B));
    run_frames(o.e, 1);
    CHECK(find(m, LINE_A, EV_PLAY_DONE) != NULL, "bridging did not report the stopped prompt");
    CHECK(engine_bridge(o.e, LINE_A, CO_A) == ERR_STATE, "a bridged channel was bridged again");
    CHECK(engine_bridge(o.e, LINE_B, LINE_B) == ERR_ARG, "a channel was bridged to itself");

    /* A to B. */
    capture(&o, CO_B);
    {
        play_item_t it = item(PLAY_PROMPT, pa, 0, NULL);
        CHECK(engine_play(o.e, CO_A, &it, 1, 0, 0) == 0, "the far end cannot play: %s", engine_error(o.e));
    }
    run_ms(o.e, 800);
    lag = best_lag(prompt_pcm, 4000, 1600, &corr);
    CHECK(lag == 2 * FRAME_SAMPLES && corr > 0.98, "B heard A %d samples late, correlation %.3f", lag, corr);
    capture_stop(&o);

    /* B to A. */
    capture(&o, CO_A);
    {
        play_item_t it = item(PLAY_PROMPT, pb, 0, NULL);
        engine_play(o.e, CO_B, &it, 1, 0, 0);
    }
    run_ms(o.e, 800);
    lag = best_lag(prompt_pcm + 4000, 4000, 1600, &corr);
    CHECK(lag == 2 * FRAME_SAMPLES && corr > 0.98, "A heard B %d samples late, correlation %.3f", lag, corr);
    capture_stop(&o);

    /* Unbridged: nothing crosses. */
    CHECK(engine_unbridge(o.e, LINE_B) == 0, "unbridge failed");
    CHECK(engine_state(o.e, LINE_A) == ST_OFFHOOK && engine_state(o.e, LINE_B) == ST_OFFHOOK, "states %d/%d",
          engine_state(o.e, LINE_A), engine_state(o.e, LINE_B));
    CHECK(engine_unbridge(o.e, LINE_A) == ERR_STATE, "an unbridged channel was unbridged");
    capture(&o, CO_B);
    {
        play_item_t it = item(PLAY_PROMPT, pa, 0, NULL);
        engine_play(o.e, CO_A, &it, 1, 0, 0);
    }
    run_ms(o.e, 600);
    CHECK(power_dbm0(cap, 4800) < -50.0f, "B hears A after the unbridge (%.1f dBm0)", power_dbm0(cap, 4800));
    capture_stop(&o);

    /* One caller leaving ends the bridge, not the other call. */
    engine_bridge(o.e, LINE_A, LINE_B);
    m = mark();
    engine_hangup(o.e, CO_A);
    CHECK(wait_for(&o, m, LINE_A, EV_HANGUP, 100) != NULL, "A's hangup was not seen");
    CHECK(engine_state(o.e, LINE_B) == ST_OFFHOOK, "B is in state %d after A left", engine_state(o.e, LINE_B));
    CHECK(count(m, LINE_B, EV_HANGUP) == 0, "B was hung up with A");
    call_end(&o, LINE_A, CO_A);
    call_end(&o, LINE_B, CO_B);
    office_close(&o);
}

/* The three ways a line tells the box that the caller hung up, and the box hanging up
   first, after which the caller can call again. */
static void test_hangups(void)
{
    static const struct
    {
        int signal;
        int cause;
        int max_ms;
    } ways[] =
    {
        {HANGUP_LOOP_BREAK, CAUSE_LOOP_BREAK, 40},
        {HANGUP_POLARITY, CAUSE_POLARITY, 40},
        {HANGUP_BUSY_TONE, CAUSE_BUSY_TONE, 3000},
    };
    office_t o;
    line_params_t lp;
    const engine_event_t *ev;
    int m;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    for (unsigned k = 0; k < sizeof(ways) / sizeof(ways[0]); k++)
    {
        int64_t t0;

        line_params_default(&lp);
        lp.hangup_signal = ways[k].signal;
        CHECK(board_sim_set_line(o.b, LINE_A, &lp) == 0, "set_line failed");
        REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
        run_ms(o.e, 300);
        m = mark();
        t0 = engine_now(o.e);
        CHECK(engine_hangup(o.e, CO_A) == 0, "the exchange's hangup failed");
        ev = wait_for(&o, m, LINE_A, EV_HANGUP, 5000);
        CHECK(ev && ev->a == ways[k].cause, "signal %d: cause %d, expected %d", ways[k].signal, ev ? ev->a : -1,
              ways[k].cause);
        CHECK(ev && ms_since(ev, t0) <= ways[k].max_ms, "signal %d: the hangup was seen after %d ms", ways[k].signal,
              ev ? ms_since(ev, t0) : -1);
        CHECK(engine_state(o.e, LINE_A) == ST_HUNGUP, "signal %d: the line is in state %d", ways[k].signal,
              engine_state(o.e, LINE_A));
        CHECK(engine_state(o.e, CO_A) == ST_HUNGUP, "signal %d: the exchange is in state %d", ways[k].signal,
              engine_state(o.e, CO_A));
        if (ways[k].signal == HANGUP_BUSY_TONE)
            CHECK(engine_stop(o.e, CO_A) == ERR_STATE, "the exchange's busy tone was stopped by a command");
        engine_hangup(o.e, LINE_A);
        run_ms(o.e, 60);
        CHECK(engine_state(o.e, LINE_A) == ST_IDLE && engine_state(o.e, CO_A) == ST_IDLE, "signal %d: states %d/%d",
              ways[k].signal, engine_state(o.e, LINE_A), engine_state(o.e, CO_A));
        CHECK(count(m, CO_A, EV_PLAY_DONE) == 0, "the exchange reported its busy tone as a prompt");
    }

    /* The box hangs up first: the caller is told, and can call again. */
    line_params_default(&lp);
    board_sim_set_line(o.b, LINE_A, &lp);
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
    m = mark();
    CHECK(engine_hangup(o.e, LINE_A) == 0 && engine_state(o.e, LINE_A) == ST_IDLE, "the box's hangup failed");
    ev = wait_for(&o, m, CO_A, EV_HANGUP, 100);
    CHECK(ev && ev->a == CAUSE_ONHOOK, "the exchange saw cause %d", ev ? ev->a : -1);
    CHECK(engine_hangup(o.e, CO_A) == 0, "the exchange's hangup after the box's failed: %s", engine_error(o.e));
    run_ms(o.e, 60);
    CHECK(engine_state(o.e, CO_A) == ST_IDLE, "after both hung up the exchange is in state %d",
          engine_state(o.e, CO_A));
    CHECK(call_in(&o, LINE_A, CO_A) == 0, "the caller cannot call again: %s", engine_error(o.e));
    call_end(&o, LINE_A, CO_A);

    /* Congestion tone from the exchange is a hangup too; with busy hangup off, busy
       tone is only a tone. */
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
    m = mark();
    {
        play_item_t it = item(PLAY_TONE, TONE_CONGESTION, 0, NULL);
        engine_play(o.e, CO_A, &it, 1, 0, 0);
    }
    ev = wait_for(&o, m, LINE_A, EV_HANGUP, 3000);
    CHECK(ev && ev->a == CAUSE_CONGESTION_TONE, "congestion: cause %d", ev ? ev->a : -1);
    call_end(&o, LINE_A, CO_A);
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
    engine_detect(o.e, LINE_A, DETECT_DTMF | DETECT_TONES);
    m = mark();
    {
        play_item_t it = item(PLAY_TONE, TONE_BUSY, 0, NULL);
        engine_play(o.e, CO_A, &it, 1, 0, 0);
    }
    ev = wait_for(&o, m, LINE_A, EV_TONE, 3000);
    CHECK(ev && ev->a == TONE_BUSY && ev->b == 1, "busy tone was reported as tone %d", ev ? ev->a : -1);
    CHECK(count(m, LINE_A, EV_HANGUP) == 0 && engine_state(o.e, LINE_A) == ST_OFFHOOK,
          "busy tone hung up a line without busy hangup");
    engine_stop(o.e, CO_A);
    ev = wait_for(&o, (int) (ev ? ev - evlog + 1 : m), LINE_A, EV_TONE, 2000);
    CHECK(ev && ev->a == TONE_BUSY && ev->b == 0, "the end of busy tone was not reported");
    call_end(&o, LINE_A, CO_A);
    office_close(&o);
}

/* Busy tone hangup with each plan's own busy tone. */
static void test_busy_hangup_plans(void)
{
    static const char *const plans[] = {"ru", "ua", "us"};
    office_t o;
    line_params_t lp;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    line_params_default(&lp);
    lp.hangup_signal = HANGUP_BUSY_TONE;
    board_sim_set_line(o.b, LINE_B, &lp);
    for (unsigned k = 0; k < sizeof(plans) / sizeof(plans[0]); k++)
    {
        channel_config_t cfg;
        const engine_event_t *ev;
        int m;

        engine_default_config(KIND_FXO, &cfg);
        cfg.plan = plans[k];
        CHECK(engine_configure(o.e, LINE_B, &cfg) == 0, "plan %s refused", plans[k]);
        engine_default_config(KIND_CO, &cfg);
        cfg.plan = plans[k];
        CHECK(engine_configure(o.e, CO_B, &cfg) == 0, "plan %s refused", plans[k]);
        REQUIRE(call_in(&o, LINE_B, CO_B) == 0, "the call did not come in");
        m = mark();
        engine_hangup(o.e, CO_B);
        ev = wait_for(&o, m, LINE_B, EV_HANGUP, 4000);
        CHECK(ev && ev->a == CAUSE_BUSY_TONE, "plan %s: hangup cause %d", plans[k], ev ? ev->a : -1);
        engine_hangup(o.e, LINE_B);
        run_ms(o.e, 60);
        CHECK(engine_state(o.e, CO_B) == ST_IDLE, "plan %s: the exchange is in state %d", plans[k],
              engine_state(o.e, CO_B));
    }
    office_close(&o);
}

/* The caller gives up while it rings: the line times out after the last ring. */
static void test_ring_timeout(void)
{
    office_t o;
    channel_config_t cfg;
    const engine_event_t *ev;
    int m;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    engine_default_config(KIND_FXO, &cfg);
    cfg.ring_timeout_ms = 6000;
    CHECK(engine_configure(o.e, LINE_A, &cfg) == 0, "configure failed");
    m = mark();
    engine_ring(o.e, CO_A, CID_NONE, CID_AFTER_FIRST_RING, NULL);
    /* Two rings, then the caller hangs up in the silence after the second. */
    run_ms(o.e, 6000);
    CHECK(count(m, LINE_A, EV_RING) == 2, "%d rings in 6 s", count(m, LINE_A, EV_RING));
    CHECK(engine_hangup(o.e, CO_A) == 0 && engine_state(o.e, CO_A) == ST_IDLE, "the exchange did not stop ringing");
    ev = wait_for(&o, m, LINE_A, EV_RING_TIMEOUT, 8000);
    CHECK(ev && ev->a == 2, "ring timeout after %d rings", ev ? ev->a : -1);
    /* Counted from the end of the last ring, at 6 s. */
    CHECK(ev && abs(ms_since(ev, 0) - (6000 + 6000)) <= 2 * FRAME_MS, "the timeout came at %d ms",
          ev ? ms_since(ev, 0) : -1);
    CHECK(engine_state(o.e, LINE_A) == ST_IDLE, "after the timeout the line is in state %d", engine_state(o.e, LINE_A));
    CHECK(engine_answer(o.e, LINE_A) == ERR_STATE, "a timed-out call was answered");
    CHECK(call_in(&o, LINE_A, CO_A) == 0, "the next call did not come in");
    call_end(&o, LINE_A, CO_A);
    office_close(&o);
}

/* An alarm takes a line out of service in the middle of a call, the other lines go
   on, and the line comes back able to take calls. */
static void test_alarm(void)
{
    office_t o;
    const engine_event_t *ev;
    int m;
    int pid;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0 && call_in(&o, LINE_B, CO_B) == 0, "the calls did not come in");
    pid = engine_prompt_add(o.e, prompt_pcm, 16000);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        engine_play(o.e, LINE_A, &it, 1, 0, 0);
    }
    engine_collect(o.e, LINE_A, 4, "#", 5000, 5000);
    engine_collect(o.e, LINE_B, 4, "#", 5000, 5000);
    m = mark();
    CHECK(board_sim_alarm(o.b, LINE_A, 1) == 0, "alarm failed");
    ev = wait_for(&o, m, LINE_A, EV_ALARM, 100);
    CHECK(ev != NULL, "no alarm event");
    CHECK(engine_state(o.e, LINE_A) == ST_OUT_OF_SERVICE, "in alarm the line is in state %d",
          engine_state(o.e, LINE_A));
    ev = find(m, LINE_A, EV_PLAY_DONE);
    CHECK(ev && ev->a == PLAY_STOPPED, "the prompt was not stopped by the alarm");
    ev = find(m, LINE_A, EV_COLLECTED);
    CHECK(ev && ev->a == COLLECT_CANCELLED, "the collection was not cancelled by the alarm");
    CHECK(engine_prompt_remove(o.e, pid) == 0, "the alarm left the prompt in use");

    /* Out of service: calls are refused, configuration is not. */
    {
        play_item_t it = item(PLAY_SILENCE, 0, 100, NULL);
        channel_config_t cfg;
        engine_default_config(KIND_FXO, &cfg);
        CHECK(engine_answer(o.e, LINE_A) == ERR_STATE, "answer in alarm");
        CHECK(engine_seize(o.e, LINE_A) == ERR_STATE, "seize in alarm");
        CHECK(engine_hangup(o.e, LINE_A) == ERR_STATE, "hangup in alarm");
        CHECK(engine_play(o.e, LINE_A, &it, 1, 0, 0) == ERR_STATE, "play in alarm");
        CHECK(engine_collect(o.e, LINE_A, 1, "", 1000, 1000) == ERR_STATE, "collect in alarm");
        CHECK(engine_configure(o.e, LINE_A, &cfg) == 0, "configure in alarm: %s", engine_error(o.e));
    }
    /* The exchange's ringing is not heard. */
    engine_hangup(o.e, CO_A);
    run_ms(o.e, 60);
    engine_hangup(o.e, CO_A);
    run_ms(o.e, 60);

    /* The other line goes on. */
    {
        dtmf_send_params_t p = keys(-10.0f, 60, 60);
        engine_send_digits(o.e, CO_B, "12#", &p);
        ev = wait_for(&o, m, LINE_B, EV_COLLECTED, 1500);
        CHECK(ev && strcmp(ev->text, "12") == 0, "the other line collected '%s'", ev ? ev->text : "");
    }

    m = mark();
    CHECK(board_sim_alarm(o.b, LINE_A, 0) == 0, "end of alarm failed");
    CHECK(wait_for(&o, m, LINE_A, EV_NOALARM, 100) != NULL, "no end-of-alarm event");
    CHECK(engine_state(o.e, LINE_A) == ST_IDLE, "after the alarm the line is in state %d", engine_state(o.e, LINE_A));
    run_ms(o.e, 100);
    /* Whatever the exchange saw of it, its call is over; the line takes the next one. */
    engine_hangup(o.e, CO_A);
    run_ms(o.e, 100);
    CHECK(engine_state(o.e, CO_A) == ST_IDLE, "after the alarm the exchange is in state %d", engine_state(o.e, CO_A));
    CHECK(call_in(&o, LINE_A, CO_A) == 0, "the line takes no call after its alarm: %s", engine_error(o.e));
    call_end(&o, LINE_A, CO_A);
    call_end(&o, LINE_B, CO_B);
    office_close(&o);
}

/* A call out: seize, dial, ringback from the far end, answer, flash. */
static void test_outgoing_call(void)
{
    office_t o;
    const engine_event_t *ev;
    int m;
    int64_t t0;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    engine_detect(o.e, CO_B, DETECT_DTMF);
    m = mark();
    CHECK(engine_seize(o.e, LINE_B) == 0, "seize failed: %s", engine_error(o.e));
    CHECK(engine_state(o.e, LINE_B) == ST_DIALING, "a seized line is in state %d", engine_state(o.e, LINE_B));
    ev = wait_for(&o, m, CO_B, EV_OFFHOOK, 100);
    CHECK(ev && ev->a == 0, "the exchange saw a seizure as an answer");
    t0 = engine_now(o.e);
    CHECK(engine_dial(o.e, LINE_B, "0442#") == 0, "dial failed: %s", engine_error(o.e));
    ev = wait_for(&o, m, LINE_B, EV_DIALED, 1000);
    CHECK(ev && ev->a == PLAY_COMPLETE && ms_since(ev, t0) == done_ms(5 * 105), "dialled after %d ms",
          ev ? ms_since(ev, t0) : -1);
    run_ms(o.e, 300);
    {
        char heard[16];
        int n = 0;
        for (int i = m; i < nlog && n < 15; i++)
        {
            if (evlog[i].chan == CO_B && evlog[i].type == EV_DIGIT)
                heard[n++] = (char) evlog[i].a;
        }
        heard[n] = '\0';
        CHECK(strcmp(heard, "0442#") == 0, "the exchange heard '%s'", heard);
    }
    CHECK(count(m, LINE_B, EV_PLAY_DONE) == 0, "dialling was reported as a prompt");

    /* Ringback, then the called party answers. */
    m = mark();
    {
        play_item_t it = item(PLAY_TONE, TONE_RINGBACK, 0, NULL);
        engine_play(o.e, CO_B, &it, 1, 0, 0);
    }
    ev = wait_for(&o, m, LINE_B, EV_TONE, 7000);
    CHECK(ev && ev->a == TONE_RINGBACK && ev->b == 1, "ringback was reported as tone %d", ev ? ev->a : -1);
    engine_stop(o.e, CO_B);
    CHECK(engine_answer(o.e, LINE_B) == 0 && engine_state(o.e, LINE_B) == ST_OFFHOOK, "the answered call is not up");
    m = mark();
    CHECK(engine_flash(o.e, LINE_B) == 0, "flash failed: %s", engine_error(o.e));
    CHECK(wait_for(&o, m, CO_B, EV_FLASH, 100) != NULL, "the exchange did not see the flash");
    CHECK(engine_dial(o.e, LINE_B, "1") == ERR_STATE, "dialled on an answered call");
    call_end(&o, LINE_B, CO_B);
    office_close(&o);
}

/* The box rings an office phone with caller ID; the agent answers, flashes, hangs up. */
static void test_phone_port(void)
{
    office_t o;
    cid_info_t cid;
    const engine_event_t *ev;
    int m;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    CHECK(configure(&o, PHONE, CID_V23, CID_AFTER_FIRST_RING) == 0, "configure failed");
    memset(&cid, 0, sizeof(cid));
    strcpy(cid.number, "5550142");
    strcpy(cid.name, "QUEUE 1");
    m = mark();
    CHECK(engine_ring(o.e, PORT, CID_V23, CID_AFTER_FIRST_RING, &cid) == 0, "ring failed: %s", engine_error(o.e));
    ev = wait_for(&o, m, PHONE, EV_CALLERID, 4000);
    CHECK(ev && strcmp(ev->text, "5550142") == 0 && strcmp(ev->text2, "QUEUE 1") == 0, "the phone showed '%s' '%s'",
          ev ? ev->text : "", ev ? ev->text2 : "");
    CHECK(engine_answer(o.e, PHONE) == 0, "the phone cannot answer: %s", engine_error(o.e));
    ev = wait_for(&o, m, PORT, EV_OFFHOOK, 100);
    CHECK(ev && ev->a == 1, "the port did not see the answer");
    CHECK(engine_state(o.e, PORT) == ST_OFFHOOK, "the port is in state %d", engine_state(o.e, PORT));
    m = mark();
    engine_flash(o.e, PHONE);
    CHECK(wait_for(&o, m, PORT, EV_FLASH, 100) != NULL, "the port did not see the flash");
    engine_hangup(o.e, PHONE);
    ev = wait_for(&o, m, PORT, EV_HANGUP, 100);
    CHECK(ev && ev->a == CAUSE_ONHOOK, "the port saw hangup cause %d", ev ? ev->a : -1);
    engine_hangup(o.e, PORT);
    run_ms(o.e, 60);
    CHECK(engine_state(o.e, PORT) == ST_IDLE && engine_state(o.e, PHONE) == ST_IDLE, "states %d/%d",
          engine_state(o.e, PORT), engine_state(o.e, PHONE));
    office_close(&o);
}

/* Without audio, caller ID, digits, prompts and busy tone travel as events, and take
   as long as they would as audio. */
static void test_signalling_only(void)
{
    office_t o;
    cid_info_t cid;
    line_params_t lp;
    const engine_event_t *ev;
    dtmf_send_params_t p = keys(-10.0f, 80, 80);
    int m;
    int pid;
    int64_t t0;

    REQUIRE(office_open(&o, 0) == 0, "office setup failed");
    CHECK(configure(&o, LINE_A, CID_V23, CID_AFTER_FIRST_RING) == 0, "configure failed");
    memset(&cid, 0, sizeof(cid));
    strcpy(cid.number, "5550001");
    strcpy(cid.name, "SIG");
    m = mark();
    engine_ring(o.e, CO_A, CID_V23, CID_AFTER_FIRST_RING, &cid);
    ev = wait_for(&o, m, LINE_A, EV_CALLERID, 4000);
    CHECK(ev && strcmp(ev->text, "5550001") == 0 && strcmp(ev->text2, "SIG") == 0 && ev->a == 0,
          "caller ID '%s' '%s' absence %d", ev ? ev->text : "", ev ? ev->text2 : "", ev ? ev->a : -1);
    engine_answer(o.e, LINE_A);
    wait_for(&o, m, CO_A, EV_OFFHOOK, 100);

    pid = engine_prompt_add(o.e, prompt_pcm, 8000);
    m = mark();
    t0 = engine_now(o.e);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        engine_play(o.e, LINE_A, &it, 1, 0, 0);
    }
    ev = wait_for(&o, m, CO_A, EV_HEARD, 100);
    CHECK(ev && ev->a == PLAY_PROMPT && ev->b == pid, "the far end heard %d/%d", ev ? ev->a : -1, ev ? ev->b : -1);
    ev = wait_for(&o, m, LINE_A, EV_PLAY_DONE, 2000);
    CHECK(ev && ev->a == PLAY_COMPLETE && ms_since(ev, t0) == done_ms(1000), "the prompt took %d ms",
          ev ? ms_since(ev, t0) : -1);
    /* The far end hears of the stop a tick later, as it would hear the silence. */
    run_frames(o.e, 1);
    ev = wait_for(&o, m, CO_A, EV_HEARD, 100);
    ev = ev ? find((int) (ev - evlog) + 1, CO_A, EV_HEARD) : NULL;
    CHECK(ev && ev->a == 0, "the far end did not hear the prompt stop");

    m = mark();
    engine_collect(o.e, LINE_A, 4, "#", 5000, 5000);
    t0 = engine_now(o.e);
    engine_send_digits(o.e, CO_A, "12#", &p);
    ev = wait_for(&o, m, LINE_A, EV_COLLECTED, 1000);
    CHECK(ev && strcmp(ev->text, "12") == 0 && ev->a == COLLECT_TERMINATOR, "collected '%s'", ev ? ev->text : "");
    {
        int k = 0;
        for (int i = m; i < nlog; i++)
        {
            const engine_event_t *d = &evlog[i];
            if (d->chan != LINE_A || d->type != EV_DIGIT)
                continue;
            /* As with audio: heard a tick after it is sent, for as long as it is sent. */
            CHECK(d->sample == t0 + FRAME_SAMPLES + k * MS_TO_SAMPLES(160), "digit %d began at %+d ms", k,
                  (int) (d->sample - t0 - FRAME_SAMPLES - k * MS_TO_SAMPLES(160)) / 8);
            CHECK(d->b == 80, "digit %d lasted %d ms, sent 80", k, d->b);
            CHECK(d->c == -10, "digit %d at %d dBm0", k, d->c);
            k++;
        }
        CHECK(k == 3, "%d digits", k);
    }

    /* A line that signals nothing: the exchange's busy tone is the hangup. */
    line_params_default(&lp);
    lp.hangup_signal = HANGUP_BUSY_TONE;
    board_sim_set_line(o.b, LINE_A, &lp);
    m = mark();
    engine_hangup(o.e, CO_A);
    ev = wait_for(&o, m, LINE_A, EV_HANGUP, 200);
    CHECK(ev && ev->a == CAUSE_BUSY_TONE, "hangup cause %d", ev ? ev->a : -1);
    engine_hangup(o.e, LINE_A);
    run_ms(o.e, 60);
    CHECK(engine_state(o.e, CO_A) == ST_IDLE, "the exchange is in state %d", engine_state(o.e, CO_A));

    /* Caller ID arrives as a receiver on an audio line would decode it. */
    {
        static const struct
        {
            int standard;
            int when;
            const char *number;
            const char *name;
            char absence;
            const char *want_name;
            char want_absence;
        } cases[] =
        {
            {CID_V23, CID_AFTER_FIRST_RING, "", "", 'P', "", 'P'},
            {CID_V23, CID_AFTER_FIRST_RING, "", "", 0, "", 'O'},
            {CID_V23, CID_AFTER_FIRST_RING, "5550000", "", 'P', "", 0},
            {CID_BELL202, CID_AFTER_FIRST_RING, "", "NOBODY", 'O', "NOBODY", 'O'},
            {CID_DTMF, CID_AFTER_FIRST_RING, "5551234", "NO NAME", 0, "", 0},
            {CID_DTMF, CID_BEFORE_FIRST_RING, "5554321", "", 0, "", 0},
        };

        for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        {
            const engine_event_t *ring;

            configure(&o, LINE_A, cases[k].standard, cases[k].when);
            memset(&cid, 0, sizeof(cid));
            strcpy(cid.number, cases[k].number);
            strcpy(cid.name, cases[k].name);
            cid.absence = cases[k].absence;
            m = mark();
            engine_ring(o.e, CO_A, cases[k].standard, cases[k].when, &cid);
            ev = wait_for(&o, m, LINE_A, EV_CALLERID, 4000);
            CHECK(ev && strcmp(ev->text, cases[k].number) == 0 && strcmp(ev->text2, cases[k].want_name) == 0
                  && ev->a == cases[k].want_absence, "case %u: caller ID '%s' '%s' absence %d", k, ev ? ev->text : "",
                  ev ? ev->text2 : "", ev ? ev->a : -1);
            /* And the phone rings, whenever the caller ID came. */
            ring = wait_for(&o, m, LINE_A, EV_RING, 2000);
            CHECK(ring && ring->a == 1, "case %u: no ring with caller ID %s the first ring", k,
                  cases[k].when == CID_BEFORE_FIRST_RING ? "before" : "after");
            /* The caller gives up and the box does not wait for the ring timeout. */
            engine_hangup(o.e, CO_A);
            engine_hangup(o.e, LINE_A);
            run_ms(o.e, 60);
        }
    }
    office_close(&o);
}

/* Recording taps hand back every frame of a tapped channel, and a run returns early
   rather than drop any. */
/* Dialling out with no audio: the exchange sees each digit start and end at the
   times the player would have sounded them (50 ms on, 55 ms off), not all at once. */
static void test_signalling_only_dial(void)
{
    office_t o;
    const engine_event_t *ev;
    int m, n = 0;
    int64_t t0;

    REQUIRE(office_open(&o, 0) == 0, "office setup failed");
    engine_detect(o.e, CO_B, DETECT_DTMF);
    CHECK(engine_seize(o.e, LINE_B) == 0, "seize failed: %s", engine_error(o.e));
    run_ms(o.e, 100);
    m = mark();
    t0 = engine_now(o.e);
    CHECK(engine_dial(o.e, LINE_B, "0442#") == 0, "dial failed: %s", engine_error(o.e));
    ev = wait_for(&o, m, LINE_B, EV_DIALED, 1000);
    CHECK(ev && ev->a == PLAY_COMPLETE && ms_since(ev, t0) == done_ms(5 * 105), "dialled after %d ms",
          ev ? ms_since(ev, t0) : -1);
    run_ms(o.e, 200);
    for (int i = m; i < nlog; i++)
    {
        const engine_event_t *d = &evlog[i];

        if (d->chan != CO_B || d->type != EV_DIGIT)
            continue;
        CHECK(d->a == "0442#"[n], "digit %d heard as '%c'", n, d->a);
        CHECK(d->b >= 40 && d->b <= 60, "digit %d lasted %d ms", n, d->b);
        CHECK(ms_since(d, t0) >= n * 105 - 20 && ms_since(d, t0) <= n * 105 + 20, "digit %d began after %d ms",
              n, ms_since(d, t0));
        n++;
    }
    CHECK(n == 5, "the exchange heard %d digits", n);
    CHECK(count(m, LINE_B, EV_DIGITS_SENT) == 0, "dialling was reported as keypad digits");
    office_close(&o);
}

static void test_taps(void)
{
    office_t o;
    int frames = 0;
    int taps_a = 0;
    int taps_b = 0;
    int64_t next_a = -1;
    int gaps = 0;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
    CHECK(engine_tap(o.e, LINE_A, 1) == 0 && engine_tap(o.e, CO_A, 1) == 0, "tap failed");
    while (frames < 1000)
    {
        const engine_batch_t *bt = engine_run(o.e, 1000 - frames, 0);

        CHECK(bt->frames >= 1 && bt->ntaps <= 512, "a run of %d frames gave %d taps", bt->frames, bt->ntaps);
        if (bt->frames < 1)
            break;
        for (int i = 0; i < bt->ntaps; i++)
        {
            if (bt->taps[i].chan == LINE_A)
            {
                if (next_a >= 0 && bt->taps[i].sample != next_a)
                    gaps++;
                next_a = bt->taps[i].sample + FRAME_SAMPLES;
                taps_a++;
            }
            else if (bt->taps[i].chan == CO_A)
            {
                taps_b++;
            }
        }
        frames += bt->frames;
    }
    CHECK(frames == 1000 && taps_a == 1000 && taps_b == 1000 && gaps == 0, "%d frames, %d + %d taps, %d gaps", frames,
          taps_a, taps_b, gaps);
    engine_tap(o.e, LINE_A, 0);
    engine_tap(o.e, CO_A, 0);
    {
        const engine_batch_t *bt = engine_run(o.e, 10, 0);
        CHECK(bt->ntaps == 0, "%d taps after the taps were turned off", bt->ntaps);
    }
    /* Stop on event: the run ends with the frame that made one. */
    {
        const engine_batch_t *bt;
        dtmf_send_params_t p = keys(-10.0f, 60, 60);
        engine_send_digits(o.e, CO_A, "1", &p);
        bt = engine_run(o.e, 1000, RUN_STOP_ON_EVENT);
        CHECK(bt->nevents >= 1 && bt->frames < 50, "a stop-on-event run went %d frames for %d events", bt->frames,
              bt->nevents);
    }
    call_end(&o, LINE_A, CO_A);
    office_close(&o);
}

static int names_channel(const engine_t *e, int ch)
{
    char want[32];

    snprintf(want, sizeof(want), "channel %d", ch);
    return strstr(engine_error(e), want) != NULL;
}

/* Every command refused with the right code, a message that names the channel, and
   nothing changed; then the engine goes on serving. */
static void test_errors(void)
{
    office_t o;
    channel_config_t cfg;
    cid_info_t cid;
    dtmf_send_params_t p = keys(-10.0f, 60, 60);
    play_item_t it = item(PLAY_SILENCE, 0, 100, NULL);
    play_item_t list[PLAY_MAX_ITEMS + 1];
    int16_t pcm[160];

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    memset(&cid, 0, sizeof(cid));
    memset(pcm, 0, sizeof(pcm));
    for (int i = 0; i <= PLAY_MAX_ITEMS; i++)
        list[i] = it;

#define EXPECT(call, code, ch)                                                                   \
    do                                                                                           \
    {                                                                                            \
        int rc_ = (call);                                                                        \
        CHECK(rc_ == (code), "%s gave %d, expected %d (%s)", #call, rc_, (code), engine_error(o.e)); \
        if ((ch) > 0)                                                                            \
            CHECK(names_channel(o.e, (ch)), "%s: the message '%s' does not name channel %d", #call, \
                  engine_error(o.e), (ch));                                                      \
    }                                                                                            \
    while (0)

    /* No such channel: off the board, unused, or not configured. */
    {
        static const int bad[] = {0, -1, NCH + 1, 99, 9, LINE_C};
        for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        {
            int ch = bad[k];
            engine_default_config(KIND_FXO, &cfg);
            if (ch != LINE_C)
                EXPECT(engine_configure(o.e, ch, &cfg), ERR_CHANNEL, ch);
            EXPECT(engine_answer(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_seize(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_dial(o.e, ch, "1"), ERR_CHANNEL, ch);
            EXPECT(engine_flash(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_ring(o.e, ch, CID_NONE, CID_AFTER_FIRST_RING, NULL), ERR_CHANNEL, ch);
            EXPECT(engine_hangup(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_play(o.e, ch, &it, 1, 0, 0), ERR_CHANNEL, ch);
            EXPECT(engine_stop(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_collect(o.e, ch, 1, "", 1000, 1000), ERR_CHANNEL, ch);
            EXPECT(engine_collect_cancel(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_bridge(o.e, ch, LINE_A), ERR_CHANNEL, ch);
            EXPECT(engine_bridge(o.e, LINE_A, ch), ERR_CHANNEL, ch);
            EXPECT(engine_unbridge(o.e, ch), ERR_CHANNEL, ch);
            EXPECT(engine_tap(o.e, ch, 1), ERR_CHANNEL, ch);
            EXPECT(engine_detect(o.e, ch, DETECT_DTMF), ERR_CHANNEL, ch);
            EXPECT(engine_send_digits(o.e, ch, "1", &p), ERR_CHANNEL, ch);
        }
        CHECK(strstr(engine_error(o.e), "not configured") != NULL, "an unconfigured channel is reported as '%s'",
              engine_error(o.e));
    }

    /* The wrong kind of channel. */
    EXPECT(engine_answer(o.e, CO_A), ERR_KIND, CO_A);
    EXPECT(engine_answer(o.e, PORT), ERR_KIND, PORT);
    EXPECT(engine_seize(o.e, CO_A), ERR_KIND, CO_A);
    EXPECT(engine_dial(o.e, PORT, "1"), ERR_KIND, PORT);
    EXPECT(engine_flash(o.e, CO_B), ERR_KIND, CO_B);
    EXPECT(engine_ring(o.e, LINE_A, CID_NONE, CID_AFTER_FIRST_RING, NULL), ERR_KIND, LINE_A);
    EXPECT(engine_ring(o.e, PHONE, CID_NONE, CID_AFTER_FIRST_RING, NULL), ERR_KIND, PHONE);

    /* The wrong state: everything on idle channels that needs a call. */
    EXPECT(engine_answer(o.e, LINE_A), ERR_STATE, LINE_A);
    EXPECT(engine_dial(o.e, LINE_A, "1"), ERR_STATE, LINE_A);
    EXPECT(engine_flash(o.e, LINE_A), ERR_STATE, LINE_A);
    EXPECT(engine_play(o.e, LINE_A, &it, 1, 0, 0), ERR_STATE, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 1, "", 1000, 1000), ERR_STATE, LINE_A);
    EXPECT(engine_collect_cancel(o.e, LINE_A), ERR_STATE, LINE_A);
    EXPECT(engine_bridge(o.e, LINE_A, LINE_B), ERR_STATE, LINE_A);
    EXPECT(engine_unbridge(o.e, LINE_A), ERR_STATE, LINE_A);
    CHECK(strstr(engine_error(o.e), "idle") != NULL, "the message '%s' does not say the state", engine_error(o.e));
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
    EXPECT(engine_answer(o.e, LINE_A), ERR_STATE, LINE_A);
    EXPECT(engine_seize(o.e, LINE_A), ERR_STATE, LINE_A);
    EXPECT(engine_ring(o.e, CO_A, CID_NONE, CID_AFTER_FIRST_RING, NULL), ERR_STATE, CO_A);
    engine_default_config(KIND_FXO, &cfg);
    EXPECT(engine_configure(o.e, LINE_A, &cfg), ERR_STATE, LINE_A);
    EXPECT(engine_bridge(o.e, LINE_A, LINE_B), ERR_STATE, LINE_B);
    EXPECT(engine_send_digits(o.e, CO_A, "123", &p), 0, 0);
    EXPECT(engine_send_digits(o.e, CO_A, "4", &p), ERR_STATE, CO_A);
    EXPECT(engine_collect(o.e, LINE_A, 1, "", 1000, 1000), 0, 0);
    EXPECT(engine_collect(o.e, LINE_A, 1, "", 1000, 1000), ERR_STATE, LINE_A);

    /* Bad configuration. */
#define BADCFG(field, value, code)                                          \
    do                                                                      \
    {                                                                       \
        engine_default_config(KIND_FXO, &cfg);                              \
        cfg.field = value;                                                  \
        EXPECT(engine_configure(o.e, LINE_B, &cfg), code, LINE_B);          \
    }                                                                       \
    while (0)
    BADCFG(law, 2, ERR_ARG);
    BADCFG(law, -1, ERR_ARG);
    BADCFG(plan, "uk", ERR_PLAN);
    BADCFG(plan, NULL, ERR_PLAN);
    BADCFG(plan, "ITU", ERR_PLAN);
    BADCFG(cid_standard, 3, ERR_ARG);
    BADCFG(cid_standard, 6, ERR_ARG);
    BADCFG(cid_when, 2, ERR_ARG);
    BADCFG(ring_timeout_ms, 999, ERR_ARG);
    BADCFG(ring_timeout_ms, 60001, ERR_ARG);
    BADCFG(busy_cycles, 0, ERR_ARG);
    /* The detector keeps 10 segments: 5 on/off cycles at most. */
    BADCFG(busy_cycles, 6, ERR_ARG);
    BADCFG(dtmf_twist, 21, ERR_ARG);
    BADCFG(dtmf_twist, -2, ERR_ARG);
    BADCFG(dtmf_reverse_twist, 25, ERR_ARG);
    BADCFG(dtmf_threshold, -5, ERR_ARG);
    BADCFG(dtmf_threshold, -70, ERR_ARG);
    BADCFG(detect, 8, ERR_ARG);
#undef BADCFG
    engine_default_config(KIND_FXO, &cfg);
    cfg.busy_cycles = 5;
    cfg.plan = "us";
    EXPECT(engine_configure(o.e, LINE_B, &cfg), 0, 0);
    engine_default_config(KIND_FXO, &cfg);
    EXPECT(engine_configure(o.e, LINE_B, &cfg), 0, 0);

    /* Bad play lists, on a connected line. */
    {
        int pid = engine_prompt_add(o.e, pcm, 160);
        play_item_t l[3];

        EXPECT(engine_play(o.e, LINE_A, NULL, 1, 0, 0), ERR_ARG, LINE_A);
        EXPECT(engine_play(o.e, LINE_A, list, 0, 0, 0), ERR_ARG, LINE_A);
        EXPECT(engine_play(o.e, LINE_A, list, PLAY_MAX_ITEMS + 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_PROMPT, pid + 1, 0, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_PROMPT, LINE_A);
        l[0] = item(PLAY_PROMPT, 0, 0, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_PROMPT, LINE_A);
        l[0] = item(PLAY_TONE, TONE_NONE, 100, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_TONE, TONE_COUNT, 100, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_TONE, TONE_DIAL, 0, NULL);
        l[1] = item(PLAY_SILENCE, 0, 100, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 2, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_TONE, TONE_DIAL, -5, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_SILENCE, 0, 0, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_DIGITS, 0, 0, "12x");
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_DIGITS, 0, 0, "");
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(PLAY_DIGITS, 0, 0, NULL);
        memset(l[0].digits, '1', sizeof(l[0].digits));
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        l[0] = item(99, 0, 100, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 0, 0), ERR_ARG, LINE_A);
        /* A loop shorter than a frame would spin. */
        l[0] = item(PLAY_PROMPT, 0, 0, NULL);
        l[0].id = engine_prompt_add(o.e, pcm, 100);
        EXPECT(engine_play(o.e, LINE_A, l, 1, 1, 0), ERR_ARG, LINE_A);
        /* A bad item anywhere refuses the whole list, and no prompt is left in use. */
        l[0] = item(PLAY_PROMPT, pid, 0, NULL);
        l[1] = item(PLAY_SILENCE, 0, 100, NULL);
        l[2] = item(PLAY_TONE, 42, 100, NULL);
        EXPECT(engine_play(o.e, LINE_A, l, 3, 0, 0), ERR_ARG, LINE_A);
        CHECK(strstr(engine_error(o.e), "item 3") != NULL, "the message '%s' does not name item 3",
              engine_error(o.e));
        CHECK(engine_state(o.e, LINE_A) == ST_COLLECTING, "a refused list changed the state to %d",
              engine_state(o.e, LINE_A));
        EXPECT(engine_prompt_remove(o.e, pid), 0, 0);
        EXPECT(engine_prompt_remove(o.e, pid), ERR_PROMPT, 0);
        EXPECT(engine_prompt_remove(o.e, 0), ERR_PROMPT, 0);
        EXPECT(engine_prompt_remove(o.e, 1000), ERR_PROMPT, 0);
        EXPECT(engine_prompt_add(o.e, NULL, 100), ERR_AUDIO, 0);
        EXPECT(engine_prompt_add(o.e, pcm, 0), ERR_AUDIO, 0);
        EXPECT(engine_prompt_add(o.e, pcm, -1), ERR_AUDIO, 0);
        CHECK(engine_prompt_samples(o.e, 1000) == ERR_PROMPT && engine_prompt_samples(o.e, -1) == ERR_PROMPT,
              "samples of prompts that do not exist");
        /* Ids are reused. */
        CHECK(engine_prompt_add(o.e, pcm, 160) == pid, "a removed prompt's id was not reused");
    }

    /* Bad collections, digits, rings, bridges, detectors. */
    engine_collect_cancel(o.e, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 0, "#", 1000, 1000), ERR_ARG, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 33, "#", 1000, 1000), ERR_ARG, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 4, "x", 1000, 1000), ERR_ARG, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 4, "#*0123456", 1000, 1000), ERR_ARG, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 4, "#", 99, 1000), ERR_ARG, LINE_A);
    EXPECT(engine_collect(o.e, LINE_A, 4, "#", 1000, 600001), ERR_ARG, LINE_A);
    CHECK(engine_state(o.e, LINE_A) == ST_OFFHOOK, "a refused collection changed the state");
    EXPECT(engine_collect(o.e, LINE_A, 4, NULL, 1000, 1000), 0, 0);
    engine_collect_cancel(o.e, LINE_A);
    run_ms(o.e, 600);
    EXPECT(engine_send_digits(o.e, CO_A, "12Z", &p), ERR_ARG, CO_A);
    EXPECT(engine_send_digits(o.e, CO_A, "", &p), ERR_ARG, CO_A);
    EXPECT(engine_send_digits(o.e, CO_A, NULL, &p), ERR_ARG, CO_A);
    EXPECT(engine_send_digits(o.e, CO_A, "1", NULL), ERR_ARG, CO_A);
    {
        dtmf_send_params_t bad = p;
        bad.level_low = 20.0f;
        EXPECT(engine_send_digits(o.e, CO_A, "1", &bad), ERR_ARG, CO_A);
        bad = p;
        bad.on_ms = 0;
        EXPECT(engine_send_digits(o.e, CO_A, "1", &bad), ERR_ARG, CO_A);
        bad = p;
        bad.error_high = NAN;
        EXPECT(engine_send_digits(o.e, CO_A, "1", &bad), ERR_ARG, CO_A);
    }
    EXPECT(engine_ring(o.e, CO_B, CID_NONE, 7, NULL), ERR_ARG, CO_B);
    EXPECT(engine_ring(o.e, CO_B, 4, CID_AFTER_FIRST_RING, &cid), ERR_ARG, CO_B);
    strcpy(cid.number, "55\n51");
    EXPECT(engine_ring(o.e, CO_B, CID_V23, CID_AFTER_FIRST_RING, &cid), ERR_ARG, CO_B);
    memset(cid.number, '1', sizeof(cid.number));
    EXPECT(engine_ring(o.e, CO_B, CID_V23, CID_AFTER_FIRST_RING, &cid), ERR_ARG, CO_B);
    CHECK(engine_state(o.e, CO_B) == ST_IDLE, "a refused ring changed the state to %d", engine_state(o.e, CO_B));
    EXPECT(engine_bridge(o.e, LINE_A, LINE_A), ERR_ARG, LINE_A);
    EXPECT(engine_detect(o.e, LINE_A, 16), ERR_ARG, LINE_A);
    EXPECT(engine_detect(o.e, LINE_A, -1), ERR_ARG, LINE_A);
    EXPECT(engine_seize(o.e, LINE_B), 0, 0);
    run_ms(o.e, 60);
    EXPECT(engine_dial(o.e, LINE_B, ""), ERR_ARG, LINE_B);
    EXPECT(engine_dial(o.e, LINE_B, NULL), ERR_ARG, LINE_B);
    EXPECT(engine_dial(o.e, LINE_B, "12 3"), ERR_ARG, LINE_B);
    EXPECT(engine_dial(o.e, LINE_B, "12345678901234567890123456789012"), ERR_ARG, LINE_B);
    CHECK(engine_state(o.e, LINE_B) == ST_DIALING, "a refused dial changed the state");
    call_end(&o, LINE_B, CO_B);
#undef EXPECT

    /* After all that the engine still serves: a full call on the other line. */
    {
        const engine_event_t *ev;
        int m;

        REQUIRE(call_in(&o, LINE_B, CO_B) == 0, "the other line takes no call");
        m = mark();
        engine_collect(o.e, LINE_B, 3, "#", 3000, 3000);
        engine_send_digits(o.e, CO_B, "42#", &p);
        ev = wait_for(&o, m, LINE_B, EV_COLLECTED, 1500);
        CHECK(ev && strcmp(ev->text, "42") == 0 && ev->a == COLLECT_TERMINATOR, "after the errors: collected '%s'",
              ev ? ev->text : "");
        /* And the first line is still in its call. */
        m = mark();
        engine_collect(o.e, LINE_A, 1, "", 3000, 3000);
        engine_send_digits(o.e, CO_A, "7", &p);
        ev = wait_for(&o, m, LINE_A, EV_COLLECTED, 1500);
        CHECK(ev && strcmp(ev->text, "7") == 0, "after the errors: the first line collected '%s'", ev ? ev->text : "");
        call_end(&o, LINE_B, CO_B);
        call_end(&o, LINE_A, CO_A);
    }
    office_close(&o);
}

/* engine_free with everything running: calls, prompts in use, taps, a bridge, digits
   going out, caller ID being sent. Leak checkers do the checking. */
static void test_free_busy_engine(void)
{
    office_t o;
    cid_info_t cid;
    dtmf_send_params_t p = keys(-10.0f, 60, 60);
    int pid;

    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    REQUIRE(call_in(&o, LINE_A, CO_A) == 0 && call_in(&o, LINE_B, CO_B) == 0, "the calls did not come in");
    pid = engine_prompt_add(o.e, prompt_pcm, 16000);
    engine_prompt_add(o.e, prompt_pcm, 800);
    {
        play_item_t it = item(PLAY_PROMPT, pid, 0, NULL);
        engine_play(o.e, CO_A, &it, 1, 1, 0);
    }
    engine_bridge(o.e, LINE_A, LINE_B);
    engine_tap(o.e, LINE_A, 1);
    engine_send_digits(o.e, CO_B, "123456", &p);
    configure(&o, PHONE, CID_V23, CID_AFTER_FIRST_RING);
    memset(&cid, 0, sizeof(cid));
    strcpy(cid.number, "100");
    engine_ring(o.e, PORT, CID_V23, CID_AFTER_FIRST_RING, &cid);
    run_ms(o.e, 1700);
    CHECK(engine_state(o.e, LINE_A) == ST_BRIDGED && engine_state(o.e, PORT) == ST_RINGING, "the office is not busy");
    office_close(&o);

    /* An engine that never ran, and a board never given to an engine. */
    REQUIRE(office_open(&o, 0) == 0, "office setup failed");
    office_close(&o);
    board_free(board_sim_new(4, 1));
}

/* DTMF receiver settings follow the configuration, and -1 means spandsp's default
   again, whatever was configured before. */
static void test_dtmf_config(void)
{
    static const struct
    {
        int twist;
        int heard;
    } steps[] = {{-1, 0}, {16, 1}, {-1, 0}, {16, 1}};
    office_t o;
    /* 12 dB of normal twist: the high tone weaker; spandsp accepts 8 dB by default. */
    dtmf_send_params_t p = keys(-3.0f, 80, 80);

    p.level_high = -15.0f;
    REQUIRE(office_open(&o, 1) == 0, "office setup failed");
    for (unsigned k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
    {
        channel_config_t cfg;
        int m;

        engine_default_config(KIND_FXO, &cfg);
        cfg.dtmf_twist = steps[k].twist;
        CHECK(engine_configure(o.e, LINE_A, &cfg) == 0, "configure failed: %s", engine_error(o.e));
        REQUIRE(call_in(&o, LINE_A, CO_A) == 0, "the call did not come in");
        m = mark();
        engine_send_digits(o.e, CO_A, "1", &p);
        run_ms(o.e, 400);
        CHECK(count(m, LINE_A, EV_DIGIT) == steps[k].heard, "step %u, twist %d: %d digits heard, expected %d", k,
              steps[k].twist, count(m, LINE_A, EV_DIGIT), steps[k].heard);
        call_end(&o, LINE_A, CO_A);
    }
    office_close(&o);
}

/* A board bigger than one batch of taps: runs go the whole way when nothing is
   tapped, and when every channel is tapped no frame is dropped. */
static void test_big_board(void)
{
    enum { BIG = 600 };
    board_t *b = board_sim_new(BIG, 1);
    line_params_t lp;
    engine_t *e;
    const engine_batch_t *bt;
    int taps = 0;
    int frames = 0;

    REQUIRE(b != NULL, "a board of %d channels was refused", BIG);
    line_params_default(&lp);
    for (int ch = 1; ch < BIG; ch += 2)
        board_sim_connect(b, ch, ch + 1, KIND_FXO, &lp);
    e = engine_new(b);
    REQUIRE(e != NULL, "engine_new failed");
    for (int ch = 1; ch <= BIG; ch++)
    {
        channel_config_t cfg;
        engine_default_config(engine_channel_kind(e, ch), &cfg);
        engine_configure(e, ch, &cfg);
    }
    bt = engine_run(e, 100, 0);
    CHECK(bt->frames == 100, "an idle run of 100 frames on %d channels ran %d", BIG, bt->frames);
    for (int ch = 1; ch <= BIG; ch++)
        engine_tap(e, ch, 1);
    while (frames < 5)
    {
        bt = engine_run(e, 5 - frames, 0);
        if (bt->frames < 1)
            break;
        frames += bt->frames;
        taps += bt->ntaps;
    }
    CHECK(frames == 5 && taps == 5 * BIG, "%d frames gave %d taps of %d channels", frames, taps, BIG);
    engine_free(e);
}

int main(void)
{
    make_prompt();
    CTEST_RUN(test_lifecycle);
    CTEST_RUN(test_incoming_call);
    CTEST_RUN(test_caller_id_standards);
    CTEST_RUN(test_digits);
    CTEST_RUN(test_playback_and_barge_in);
    CTEST_RUN(test_talk_off_guard);
    CTEST_RUN(test_bridge);
    CTEST_RUN(test_hangups);
    CTEST_RUN(test_busy_hangup_plans);
    CTEST_RUN(test_ring_timeout);
    CTEST_RUN(test_alarm);
    CTEST_RUN(test_outgoing_call);
    CTEST_RUN(test_phone_port);
    CTEST_RUN(test_signalling_only);
    CTEST_RUN(test_signalling_only_dial);
    CTEST_RUN(test_taps);
    CTEST_RUN(test_dtmf_config);
    CTEST_RUN(test_big_board);
    CTEST_RUN(test_errors);
    CTEST_RUN(test_free_busy_engine);
    return ctest_finish();
}
