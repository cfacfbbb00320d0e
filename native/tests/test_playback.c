/*
 * Playback: every kind of step plays for exactly its length, a NULL buffer moves
 * time the same way, lists loop, and tones come out at the plan's frequencies and
 * levels, measured with spandsp's Goertzel filter.
 */
#include <math.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "levels.h"
#include "common.h"
#include "playback.h"
#include "toneplan.h"

#define MAXBUF (SAMPLE_RATE * 12)

static int16_t out[MAXBUF];
static int16_t ref[MAXBUF];

/* Frequency of a single sine from its rising zero crossings: exact to a fraction of a
   hertz over a few hundred ms. */
static float zero_crossing_freq(const int16_t *amp, int n)
{
    int first = -1;
    int last = -1;
    int count = 0;

    for (int i = 1; i < n; i++)
    {
        if (amp[i - 1] < 0 && amp[i] >= 0)
        {
            if (first < 0)
                first = i;
            else
                count++;
            last = i;
        }
    }
    if (count == 0)
        return 0.0f;
    return (float) count * SAMPLE_RATE / (float) (last - first);
}

static int all_zero(const int16_t *amp, int n)
{
    for (int i = 0; i < n; i++)
    {
        if (amp[i] != 0)
            return 0;
    }
    return 1;
}

/* Runs the player in chunks of `chunk` samples (NULL buffer when buf is NULL) until it
   reports the end or `max` samples have gone; returns the samples run up to and
   including the chunk that reported the end, or -1. */
static int run_until_done(player_t *p, int16_t *buf, int max, int chunk)
{
    int pos = 0;

    while (pos < max)
    {
        int n = (max - pos < chunk) ? max - pos : chunk;
        int done = player_run(p, buf ? buf + pos : NULL, n);

        pos += n;
        if (done)
            return pos;
    }
    return -1;
}

static play_step_t prompt_step(const int16_t *pcm, int n)
{
    play_step_t s;

    memset(&s, 0, sizeof(s));
    s.type = PLAY_PROMPT;
    s.id = 1;
    s.pcm = pcm;
    s.len = n;
    return s;
}

static play_step_t silence_step(int ms)
{
    play_step_t s;

    memset(&s, 0, sizeof(s));
    s.type = PLAY_SILENCE;
    s.len = MS_TO_SAMPLES(ms);
    return s;
}

static play_step_t tone_step(const tone_plan_t *plan, int id, int ms)
{
    play_step_t s;

    memset(&s, 0, sizeof(s));
    s.type = PLAY_TONE;
    s.id = id;
    s.tone = &plan->tone[id];
    s.len = ms ? MS_TO_SAMPLES(ms) : -1;
    return s;
}

static play_step_t digits_step(const player_t *p, const char *digits)
{
    play_step_t s;

    memset(&s, 0, sizeof(s));
    s.type = PLAY_DIGITS;
    strncpy(s.digits, digits, PLAY_MAX_DIGITS - 1);
    s.len = player_digits_samples(p, digits);
    return s;
}

static int16_t prompt_pcm[4000];

static void make_prompt(void)
{
    /* Never zero, so a sample played from the wrong place or not at all shows up. */
    for (int i = 0; i < 4000; i++)
        prompt_pcm[i] = (int16_t) (1000 + (i * 37) % 20000);
}

static void test_lifecycle(void)
{
    player_t local;
    player_t *p = player_init(NULL);
    play_step_t st;

    REQUIRE(p != NULL, "player_init(NULL) failed");
    CHECK(!p->active && p->started_step == -1, "a new player is not idle");
    CHECK(player_run(p, out, 160) == 0 && all_zero(out, 160), "an idle player is not silent");
    CHECK(player_free(p) == 0, "player_free failed");
    CHECK(player_free(NULL) == 0, "player_free(NULL) failed");

    REQUIRE(player_init(&local) == &local, "player_init on a caller's struct failed");
    st = silence_step(20);
    CHECK(player_start(&local, &st, 0, 0, 0) == ERR_ARG, "an empty list was accepted");
    CHECK(player_start(&local, &st, -1, 0, 0) == ERR_ARG, "a negative list length was accepted");
    CHECK(player_start(&local, &st, PLAY_MAX_ITEMS + 1, 0, 0) == ERR_ARG, "a list too long was accepted");
    CHECK(!local.active, "a refused list left the player active");
    CHECK(player_digits_samples(&local, "123") == 3 * MS_TO_SAMPLES(50 + 55),
          "three digits take %d samples", (int) player_digits_samples(&local, "123"));
    CHECK(player_digits_samples(&local, "") == 0, "no digits take time");
    player_release(&local);
    CHECK(local.tone_gen == NULL && local.tone_desc == NULL && local.dtmf == NULL,
          "player_release left spandsp state behind");
}

static void test_prompt_exact(void)
{
    static const int lengths[] = {1, 159, 160, 161, 1234, 4000};
    static const int chunks[] = {1, 7, 160, 333};
    player_t p;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    for (unsigned li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++)
    {
        for (unsigned ci = 0; ci < sizeof(chunks) / sizeof(chunks[0]); ci++)
        {
            int len = lengths[li];
            int chunk = chunks[ci];
            play_step_t st = prompt_step(prompt_pcm, len);
            int expect_end = ((len + chunk - 1) / chunk) * chunk;
            int end;

            memset(out, 0x55, sizeof(int16_t) * (expect_end + chunk));
            player_start(&p, &st, 1, 0, 0);
            end = run_until_done(&p, out, len + 4 * chunk, chunk);
            CHECK(end == expect_end, "prompt of %d in chunks of %d ended after %d samples, expected %d",
                  len, chunk, end, expect_end);
            CHECK(memcmp(out, prompt_pcm, len * sizeof(int16_t)) == 0, "prompt of %d in chunks of %d: wrong samples",
                  len, chunk);
            CHECK(all_zero(out + len, expect_end - len), "prompt of %d in chunks of %d: the rest of the last chunk "
                  "is not silent", len, chunk);
            CHECK(!p.active, "prompt of %d: the player is still active", len);
        }
    }
    player_release(&p);
}

/* All four kinds of step in one list: each starts exactly where the one before ends. */
static void test_steps_exact(void)
{
    const tone_plan_t *itu = tone_plan_find("itu");
    play_step_t st[4];
    player_t p;
    int total;
    int end;
    int b0;
    int b1;
    int b2;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    st[0] = prompt_step(prompt_pcm, 1000);
    st[1] = silence_step(50);
    st[2] = tone_step(itu, TONE_DIAL, 100);
    st[3] = digits_step(&p, "1");
    b0 = 1000;
    b1 = b0 + 400;
    b2 = b1 + 800;
    total = b2 + (int) MS_TO_SAMPLES(105);
    memset(out, 0x55, sizeof(out));
    CHECK(player_start(&p, st, 4, 0, 0) == 0, "player_start refused four steps");
    CHECK(p.started_step == 0, "the first step is not reported as begun");
    end = run_until_done(&p, out, total + 1000, 37);
    CHECK(end == ((total + 36) / 37) * 37, "the list ended after %d samples, expected %d", end, total);
    CHECK(memcmp(out, prompt_pcm, b0 * sizeof(int16_t)) == 0, "prompt samples are wrong");
    CHECK(all_zero(out + b0, b1 - b0), "the 50 ms of silence are not silent");
    /* The tone fills its 100 ms up to the last sample and stops there. */
    CHECK(fabsf(power_dbm0(out + b1, 400) - (-10.0f)) < 1.0f, "the tone's first half is at %.1f dBm0",
          power_dbm0(out + b1, 400));
    CHECK(fabsf(power_dbm0(out + b2 - 400, 400) - (-10.0f)) < 1.0f, "the tone's second half is at %.1f dBm0",
          power_dbm0(out + b2 - 400, 400));
    CHECK(!all_zero(out + b2 - 8, 8), "the tone stops before its end");
    /* Digit '1': 697 + 1209 Hz for 50 ms, then 55 ms of silence. */
    CHECK(level_at(out + b2, 400, 697.0f) > -20.0f && level_at(out + b2, 400, 1209.0f) > -20.0f,
          "digit 1 is not 697+1209 Hz (%.1f, %.1f dBm0)", level_at(out + b2, 400, 697.0f),
          level_at(out + b2, 400, 1209.0f));
    CHECK(level_at(out + b2 + 400, 440, 697.0f) < -60.0f, "the digit sounds in its off time");
    CHECK(all_zero(out + total, end - total), "samples after the list are not silent");
    CHECK(!p.active && p.cur == 4, "the player did not run off its last step");
    player_release(&p);
}

/* A NULL buffer moves through the list exactly as a real one does. */
static void test_null_advances_time(void)
{
    const tone_plan_t *itu = tone_plan_find("itu");
    play_step_t st[4];
    player_t p;
    int total;
    int end;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    st[0] = prompt_step(prompt_pcm, 1000);
    st[1] = silence_step(50);
    st[2] = tone_step(itu, TONE_BUSY, 700);
    st[3] = digits_step(&p, "5#");
    total = 1000 + 400 + 5600 + 2 * 840;

    player_start(&p, st, 4, 0, 0);
    end = run_until_done(&p, NULL, total + 1000, 160);
    CHECK(end == ((total + 159) / 160) * 160, "with no buffer the list ended after %d samples, expected %d",
          end, total);

    player_start(&p, st, 4, 0, 0);
    end = run_until_done(&p, NULL, total + 1000, 1);
    CHECK(end == total, "sample by sample with no buffer the list ended after %d samples, expected %d", end, total);

    /* Half the prompt without a buffer, then with one: the prompt goes on from there. */
    player_start(&p, st, 4, 0, 0);
    player_run(&p, NULL, 500);
    player_run(&p, out, 500);
    CHECK(memcmp(out, prompt_pcm + 500, 500 * sizeof(int16_t)) == 0, "the prompt did not resume at sample 500");

    /* Looping, in chunks that end inside steps, on them and across them: a player
       with no buffer is where one with a buffer is after every call. */
    {
        static const int chunks[] = {160, 37, 1000, 840, 1};
        player_t q;
        int diverged = 0;

        REQUIRE(player_init(&q) != NULL, "player_init failed");
        player_start(&p, st, 4, 1, 0);
        player_start(&q, st, 4, 1, 0);
        for (int k = 0; k < 400; k++)
        {
            int n = chunks[k % 5];
            int a = player_run(&p, NULL, n);
            int b = player_run(&q, out, n);

            int in_tone = p.step[p.cur].type == PLAY_TONE;

            if ((a != b || p.cur != q.cur || p.pos != q.pos || p.active != q.active || p.started_step != q.started_step
                 || (in_tone && (p.tone_step != q.tone_step || p.tone_left != q.tone_left)))
                && diverged++ == 0)
                CHECK(0, "call %d: without a buffer at step %d sample %lld, with one at step %d sample %lld", k,
                      p.cur, (long long) p.pos, q.cur, (long long) q.pos);
            p.started_step = q.started_step = -1;
        }
        CHECK(diverged == 0, "%d calls left the players apart", diverged);
        player_release(&q);
    }
    player_release(&p);
}

/* A tone's cadence goes on while only time is moving. */
static void test_null_keeps_cadence(void)
{
    const tone_plan_t *itu = tone_plan_find("itu");
    play_step_t st = tone_step(itu, TONE_BUSY, 0);
    player_t p;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    player_start(&p, &st, 1, 0, 0);
    /* 700 ms: 500 on, then 200 into the 500 ms off. */
    for (int i = 0; i < 35; i++)
        CHECK(player_run(&p, NULL, 160) == 0, "an endless tone ended");
    for (int i = 0; i < 40; i++)
        player_run(&p, out + i * 160, 160);
    CHECK(all_zero(out, 2400), "the 300 ms left of the off period are not silent");
    CHECK(fabsf(power_dbm0(out + 2400, 4000) - (-10.0f)) < 1.0f, "the next burst is at %.1f dBm0",
          power_dbm0(out + 2400, 4000));
    CHECK(!all_zero(out + 2400, 8) && !all_zero(out + 6400 - 8, 8), "the burst does not fill its 500 ms");
    CHECK(p.active, "an endless tone stopped");
    player_stop(&p);
    CHECK(!p.active, "player_stop left the player active");
    CHECK(player_run(&p, out, 160) == 0 && all_zero(out, 160), "a stopped player is not silent");
    player_release(&p);
}

static void test_loop(void)
{
    const tone_plan_t *itu = tone_plan_find("itu");
    play_step_t st[2];
    player_t p;
    int period = 300 + 800;
    int done = 0;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    st[0] = prompt_step(prompt_pcm, 300);
    st[1] = silence_step(100);
    player_start(&p, st, 2, 1, 0);
    for (int pos = 0; pos < 20 * period; pos += 160)
        done |= player_run(&p, out + pos, 160);
    CHECK(!done && p.active, "a looping list ended");
    for (int k = 0; k < 20; k++)
    {
        CHECK(memcmp(out + k * period, prompt_pcm, 300 * sizeof(int16_t)) == 0, "loop %d: prompt is wrong", k);
        CHECK(all_zero(out + k * period + 300, 800), "loop %d: silence is not silent", k);
    }

    /* A looping tone step starts its cadence again on each pass. */
    st[0] = tone_step(itu, TONE_CONGESTION, 300);
    player_start(&p, st, 1, 1, 0);
    for (int pos = 0; pos < 6 * 2400; pos += 160)
        done |= player_run(&p, out + pos, 160);
    CHECK(!done && p.active, "a looping tone ended");
    for (int k = 0; k < 6; k++)
    {
        CHECK(power_dbm0(out + k * 2400, 2000) > -11.0f, "pass %d: no 250 ms burst", k);
        CHECK(all_zero(out + k * 2400 + 2000, 400), "pass %d: the 50 ms of the off period are not silent", k);
    }
    player_release(&p);
}

/* One full cycle of every tone of every plan: each step at its frequencies and level. */
static void test_tone_accuracy(void)
{
    player_t p;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    for (int pi = 0; pi < tone_plan_count(); pi++)
    {
        const tone_plan_t *plan = tone_plan_at(pi);

        for (int id = TONE_DIAL; id < TONE_COUNT; id++)
        {
            const tone_def_t *t = &plan->tone[id];
            play_step_t st;
            int cycle = 0;
            int pos;

            for (int k = 0; k < t->nsteps; k++)
                cycle += t->step[k].ms ? (int) MS_TO_SAMPLES(t->step[k].ms) : 2 * SAMPLE_RATE + 400;
            st = tone_step(plan, id, 0);
            player_start(&p, &st, 1, 0, 0);
            for (pos = 0; pos < cycle; pos += 160)
                player_run(&p, out + pos, 160);
            pos = 0;
            for (int k = 0; k < t->nsteps; k++)
            {
                const tone_step_t *s = &t->step[k];
                int len = s->ms ? (int) MS_TO_SAMPLES(s->ms) : 2 * SAMPLE_RATE + 400;
                /* Measure well inside the step, away from its edges. */
                const int16_t *w = out + pos + 80;
                int wn = len - 160;

                if (s->f1 == 0)
                {
                    CHECK(all_zero(out + pos, len), "%s %s step %d: silence is not silent", plan->name,
                          tone_name(id), k);
                }
                else
                {
                    float l1 = level_at(w, wn, s->f1);

                    CHECK(fabsf(l1 - s->level) < 0.5f, "%s %s step %d: %d Hz at %.2f dBm0, expected %d",
                          plan->name, tone_name(id), k, s->f1, l1, s->level);
                    if (s->f2)
                    {
                        float l2 = level_at(w, wn, s->f2);
                        CHECK(fabsf(l2 - s->level) < 0.5f, "%s %s step %d: %d Hz at %.2f dBm0, expected %d",
                              plan->name, tone_name(id), k, s->f2, l2, s->level);
                        CHECK(fabsf(power_dbm0(w, wn) - (s->level + 3.01f)) < 0.5f,
                              "%s %s step %d: total power %.2f dBm0", plan->name, tone_name(id), k,
                              power_dbm0(w, wn));
                    }
                    else
                    {
                        float f = zero_crossing_freq(w, wn);
                        CHECK(fabsf(f - s->f1) < 1.0f, "%s %s step %d: %.2f Hz, expected %d", plan->name,
                              tone_name(id), k, f, s->f1);
                        CHECK(fabsf(power_dbm0(w, wn) - s->level) < 0.5f, "%s %s step %d: power %.2f dBm0",
                              plan->name, tone_name(id), k, power_dbm0(w, wn));
                    }
                    /* A cadence step sounds from its first frame to its last. */
                    CHECK(!all_zero(out + pos, 8) && !all_zero(out + pos + len - 8, 8),
                          "%s %s step %d: the tone does not fill its step", plan->name, tone_name(id), k);
                    /* A continuous tone never drops out, frame by frame. */
                    for (int f = 0; f + 160 <= len; f += 160)
                    {
                        if (power_dbm0(out + pos + f, 160) < s->level - 3.0f + (s->f2 ? 3.0f : 0.0f))
                        {
                            CHECK(0, "%s %s step %d: drop-out at %d ms", plan->name, tone_name(id), k, f / 8);
                            break;
                        }
                    }
                }
                pos += len;
            }
        }
    }
    player_release(&p);
}

/* The player's digits are what spandsp's own receiver decodes, with the player's timing. */
static void test_digits(void)
{
    static const char digits[] = "0123456789*#ABCD";
    char got[64];
    player_t p;
    play_step_t st;
    dtmf_rx_state_t *rx;
    int total;
    int end;

    REQUIRE(player_init(&p) != NULL, "player_init failed");
    st = digits_step(&p, digits);
    total = (int) st.len;
    CHECK(total == 16 * (int) MS_TO_SAMPLES(105), "16 digits take %d samples", total);
    player_start(&p, &st, 1, 0, 0);
    end = run_until_done(&p, out, total + 1600, 160);
    CHECK(end == ((total + 159) / 160) * 160, "16 digits ended after %d samples, expected %d", end, total);
    for (int k = 0; k < 16; k++)
    {
        const int16_t *on = out + k * 840;
        /* 50 ms of tone, 55 ms of silence. */
        CHECK(power_dbm0(on + 40, 320) > -20.0f, "digit %c: no tone in its on time", digits[k]);
        CHECK(power_dbm0(on + 440, 360) < -50.0f, "digit %c: sound in its off time", digits[k]);
    }
    memset(ref, 0, 1600 * sizeof(int16_t));
    rx = dtmf_rx_init(NULL, NULL, NULL);
    REQUIRE(rx != NULL, "dtmf_rx_init failed");
    dtmf_rx(rx, out, total);
    dtmf_rx(rx, ref, 1600);
    memset(got, 0, sizeof(got));
    dtmf_rx_get(rx, got, sizeof(got) - 1);
    CHECK(strcmp(got, digits) == 0, "decoded '%s', sent '%s'", got, digits);
    dtmf_rx_free(rx);
    player_release(&p);
}

int main(void)
{
    make_prompt();
    CTEST_RUN(test_lifecycle);
    CTEST_RUN(test_prompt_exact);
    CTEST_RUN(test_steps_exact);
    CTEST_RUN(test_null_advances_time);
    CTEST_RUN(test_null_keeps_cadence);
    CTEST_RUN(test_loop);
    CTEST_RUN(test_tone_accuracy);
    CTEST_RUN(test_digits);
    return ctest_finish();
}
