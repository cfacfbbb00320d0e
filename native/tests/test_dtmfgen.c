/*
 * The impaired DTMF generator: digits come out in order with the on/off timing asked
 * for, each tone at its own level and frequency error, mixed into what is already in
 * the buffer; bad digits and parameters are refused and change nothing.
 */
#include <math.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "levels.h"
#include "common.h"
#include "dtmfgen.h"

#define MAXBUF (SAMPLE_RATE * 20)

static int16_t out[MAXBUF];
static int16_t clean[MAXBUF];

/* The frequency near `around` where a Goertzel filter over amp[0..n) peaks: a coarse
   1 Hz sweep, then a fine one around the best bin. */
static float peak_freq(const int16_t *amp, int n, float around, float span)
{
    float best = around;
    float best_level = -1000.0f;

    for (float f = around - span; f <= around + span; f += 1.0f)
    {
        float l = level_at(amp, n, f);
        if (l > best_level)
        {
            best_level = l;
            best = f;
        }
    }
    for (float f = best - 1.0f, c = best; f <= c + 1.0f; f += 0.02f)
    {
        float l = level_at(amp, n, f);
        if (l > best_level)
        {
            best_level = l;
            best = f;
        }
    }
    return best;
}

static int all_equal(const int16_t *amp, int n, int16_t v)
{
    for (int i = 0; i < n; i++)
    {
        if (amp[i] != v)
            return 0;
    }
    return 1;
}

static dtmf_send_params_t params(float low, float high, int on_ms, int off_ms)
{
    dtmf_send_params_t p;

    memset(&p, 0, sizeof(p));
    p.level_low = low;
    p.level_high = high;
    p.on_ms = on_ms;
    p.off_ms = off_ms;
    return p;
}

typedef struct
{
    char digit[64];
    int down[64];
    int64_t at[64];
    int n;
    int64_t now;
} edges_t;

static void on_edge(void *user, char digit, int down)
{
    edges_t *e = (edges_t *) user;

    if (e->n < 64)
    {
        e->digit[e->n] = digit;
        e->down[e->n] = down;
        e->at[e->n] = e->now;
        e->n++;
    }
}

static void test_digit_freqs(void)
{
    static const char keys[] = "123A456B789C*0#D";
    static const int low[4] = {697, 770, 852, 941};
    static const int high[4] = {1209, 1336, 1477, 1633};
    static const char bad[] = "EFaz ,.-+eE";
    int lo;
    int hi;

    for (int k = 0; k < 16; k++)
    {
        lo = hi = -1;
        CHECK(dtmf_digit_freqs(keys[k], &lo, &hi) == 1, "digit %c is not a digit", keys[k]);
        CHECK(lo == low[k / 4] && hi == high[k % 4], "digit %c is %d+%d Hz", keys[k], lo, hi);
    }
    for (const char *p = bad; *p; p++)
    {
        lo = hi = -1;
        CHECK(dtmf_digit_freqs(*p, &lo, &hi) == 0, "'%c' is taken for a digit", *p);
        CHECK(lo == -1 && hi == -1, "'%c' set frequencies", *p);
    }
    CHECK(dtmf_digit_freqs('\0', &lo, &hi) == 0, "NUL is taken for a digit");
}

static void test_lifecycle(void)
{
    dtmfgen_t local;
    dtmfgen_t *g = dtmfgen_init(NULL);
    dtmf_send_params_t p = params(-10, -10, 50, 50);

    REQUIRE(g != NULL, "dtmfgen_init(NULL) failed");
    CHECK(!dtmfgen_busy(g), "a new generator is busy");
    CHECK(dtmfgen_run(g, out, 160, NULL, NULL) == 0, "an idle generator used samples");
    CHECK(dtmfgen_put(g, "1", &p) == 0 && dtmfgen_busy(g), "a digit did not start");
    CHECK(dtmfgen_free(g) == 0, "dtmfgen_free failed");
    CHECK(dtmfgen_init(&local) == &local, "dtmfgen_init on a caller's struct failed");
    CHECK(dtmfgen_put(&local, "1", &p) == 0, "a digit was refused");
    CHECK(dtmfgen_release(&local) == 0 && !dtmfgen_busy(&local), "release left the generator busy");
}

static void test_rejects(void)
{
    dtmfgen_t g;
    char longest[DTMFGEN_MAX_DIGITS + 2];
    const dtmf_send_params_t good = params(-10, -10, 50, 50);
    dtmf_send_params_t p;
    static const char *const bad_digits[] = {"", "E", "12E", "1 2", "a", "#*x", "-1", "\x7f"};

    dtmfgen_init(&g);
    for (unsigned i = 0; i < sizeof(bad_digits) / sizeof(bad_digits[0]); i++)
        CHECK(dtmfgen_put(&g, bad_digits[i], &good) == ERR_ARG, "digits '%s' were accepted", bad_digits[i]);
    memset(longest, '5', sizeof(longest));
    longest[DTMFGEN_MAX_DIGITS + 1] = '\0';
    CHECK(dtmfgen_put(&g, longest, &good) == ERR_ARG, "%d digits were accepted", DTMFGEN_MAX_DIGITS + 1);
    CHECK(!dtmfgen_busy(&g), "a refused put left the generator busy");
    longest[DTMFGEN_MAX_DIGITS] = '\0';
    CHECK(dtmfgen_put(&g, longest, &good) == 0, "%d digits were refused", DTMFGEN_MAX_DIGITS);
    dtmfgen_release(&g);

#define BAD(field, value)                                                          \
    do                                                                             \
    {                                                                              \
        p = good;                                                                  \
        p.field = value;                                                           \
        CHECK(dtmfgen_put(&g, "1", &p) == ERR_ARG, #field " = " #value " was accepted"); \
        CHECK(!dtmfgen_busy(&g), #field " = " #value " left the generator busy");  \
    }                                                                              \
    while (0)

    dtmfgen_init(&g);
    BAD(on_ms, 0);
    BAD(on_ms, -50);
    BAD(on_ms, 10001);
    BAD(off_ms, -1);
    BAD(off_ms, 10001);
    BAD(level_low, 3.5f);
    BAD(level_high, 4.0f);
    BAD(level_low, -91.0f);
    BAD(level_high, -1000.0f);
    BAD(error_low, 20.5f);
    BAD(error_low, -21.0f);
    BAD(error_high, 25.0f);
    BAD(error_high, -20.1f);
    /* What arrives from Python may be any float. */
    BAD(level_low, NAN);
    BAD(level_high, NAN);
    BAD(error_low, NAN);
    BAD(error_high, NAN);
    BAD(level_low, INFINITY);
    BAD(level_high, -INFINITY);
#undef BAD

    /* The edges of the ranges are allowed. */
    p = params(3.0f, -90.0f, 10000, 0);
    p.error_low = 20.0f;
    p.error_high = -20.0f;
    CHECK(dtmfgen_put(&g, "D", &p) == 0, "the extremes of every range were refused");
    p = params(-90.0f, 3.0f, 1, 10000);
    CHECK(dtmfgen_put(&g, "0", &p) == 0, "1 ms on and 10 s off were refused");
    dtmfgen_release(&g);
}

/* Timing to the sample: tone for on_ms, silence for off_ms, digit after digit. */
static void test_timing(void)
{
    static const int timings[][2] = {{50, 50}, {40, 60}, {100, 0}, {35, 35}, {70, 200}};
    dtmfgen_t g;
    edges_t e;

    dtmfgen_init(&g);
    for (unsigned t = 0; t < sizeof(timings) / sizeof(timings[0]); t++)
    {
        int on = (int) MS_TO_SAMPLES(timings[t][0]);
        int off = (int) MS_TO_SAMPLES(timings[t][1]);
        dtmf_send_params_t p = params(-10, -10, timings[t][0], timings[t][1]);
        const char *digits = "19*#";
        int total = 4 * (on + off);
        int used = 0;

        memset(out, 0, sizeof(int16_t) * (total + 1000));
        memset(&e, 0, sizeof(e));
        CHECK(dtmfgen_put(&g, digits, &p) == 0, "put refused");
        /* Sample by sample, so every edge is seen at its exact sample. */
        for (e.now = 0; e.now < total + 1000; e.now++)
            used += dtmfgen_run(&g, out + e.now, 1, on_edge, &e);
        CHECK(used == total, "%d/%d ms: %d samples used, expected %d", timings[t][0], timings[t][1], used, total);
        CHECK(!dtmfgen_busy(&g), "%d/%d ms: still busy", timings[t][0], timings[t][1]);
        CHECK(e.n == 8, "%d/%d ms: %d edges, expected 8", timings[t][0], timings[t][1], e.n);
        for (int k = 0; k < 4 && e.n == 8; k++)
        {
            int start = k * (on + off);

            CHECK(e.digit[2 * k] == digits[k] && e.down[2 * k] == 1 && e.at[2 * k] == start,
                  "%d/%d ms: edge %d is %c down=%d at %d, expected %c down at %d", timings[t][0], timings[t][1],
                  2 * k, e.digit[2 * k], e.down[2 * k], (int) e.at[2 * k], digits[k], start);
            /* The end is reported with the first sample after the tone. */
            CHECK(e.digit[2 * k + 1] == digits[k] && e.down[2 * k + 1] == 0 && e.at[2 * k + 1] == start + on,
                  "%d/%d ms: edge %d is %c down=%d at %d, expected %c up at %d", timings[t][0], timings[t][1],
                  2 * k + 1, e.digit[2 * k + 1], e.down[2 * k + 1], (int) e.at[2 * k + 1], digits[k], start + on);
            CHECK(level_at(out + start, 40, 697) > -30 || level_at(out + start, 40, 941) > -30,
                  "%d/%d ms: digit %d does not sound at its start", timings[t][0], timings[t][1], k);
            CHECK(!all_equal(out + start + on - 8, 8, 0), "%d/%d ms: digit %d stops early", timings[t][0],
                  timings[t][1], k);
            CHECK(all_equal(out + start + on, off, 0), "%d/%d ms: digit %d sounds in its off time",
                  timings[t][0], timings[t][1], k);
        }
        CHECK(all_equal(out + total, 1000, 0), "%d/%d ms: sound after the last digit", timings[t][0], timings[t][1]);
    }
    dtmfgen_release(&g);
}

/* In frame-sized runs, as the engine makes them, each edge comes in the run that
   holds its first sample: a whole number of frames on is that many runs between the
   edges, so a peer hearing the edges a run late hears the digit's true length. */
static void test_edges_in_frames(void)
{
    dtmfgen_t g;
    dtmf_send_params_t p = params(-10, -10, 80, 80);
    edges_t e;

    dtmfgen_init(&g);
    memset(&e, 0, sizeof(e));
    dtmfgen_put(&g, "12", &p);
    for (e.now = 0; e.now < 20 && dtmfgen_busy(&g); e.now++)
        dtmfgen_run(&g, NULL, FRAME_SAMPLES, on_edge, &e);
    CHECK(e.n == 4, "%d edges, expected 4", e.n);
    CHECK(e.n == 4 && e.at[0] == 0 && e.at[1] == 4 && e.at[2] == 8 && e.at[3] == 12,
          "edges in runs %d, %d, %d, %d; expected 0, 4, 8, 12", (int) e.at[0], (int) e.at[1], (int) e.at[2],
          (int) e.at[3]);
    CHECK(e.now == 16, "busy for %d runs, expected 16", (int) e.now);

    /* No off time: the last digit's end still comes, in the run after its tone. */
    memset(&e, 0, sizeof(e));
    p = params(-10, -10, 40, 0);
    dtmfgen_put(&g, "3", &p);
    for (e.now = 0; e.now < 20 && dtmfgen_busy(&g); e.now++)
        dtmfgen_run(&g, NULL, FRAME_SAMPLES, on_edge, &e);
    CHECK(e.n == 2 && e.down[1] == 0 && e.at[1] == 2, "the end of a digit with no off time came in run %d",
          e.n == 2 ? (int) e.at[1] : -1);
    dtmfgen_release(&g);
}

/* Frame-sized runs give the same samples as sample-by-sample runs, and a NULL buffer
   moves time identically. */
static void test_blocks_and_null(void)
{
    dtmfgen_t g;
    dtmf_send_params_t p = params(-7, -9, 45, 55);
    int total = 3 * 800;
    edges_t e;

    dtmfgen_init(&g);
    memset(clean, 0, sizeof(int16_t) * 3200);
    dtmfgen_put(&g, "258", &p);
    for (int i = 0; i < 3200; i++)
        dtmfgen_run(&g, clean + i, 1, NULL, NULL);

    memset(out, 0, sizeof(int16_t) * 3200);
    dtmfgen_put(&g, "258", &p);
    for (int i = 0; i < 3200; i += 160)
        dtmfgen_run(&g, out + i, 160, NULL, NULL);
    CHECK(memcmp(out, clean, 3200 * sizeof(int16_t)) == 0, "160-sample runs differ from 1-sample runs");

    /* 1.5 digits with no buffer: the rest is what it would have been. */
    memset(out, 0, sizeof(int16_t) * 3200);
    memset(&e, 0, sizeof(e));
    dtmfgen_put(&g, "258", &p);
    CHECK(dtmfgen_run(&g, NULL, 1200, on_edge, &e) == 1200, "a NULL run did not use its samples");
    CHECK(e.n == 4, "a NULL run gave %d edges, expected 4", e.n);
    dtmfgen_run(&g, out + 1200, 2000, NULL, NULL);
    CHECK(all_equal(out + 1200, 400, 0), "the second digit's off time is not silent after a NULL run");
    /* Each digit restarts its oscillators, so the third digit is sample-exact. */
    CHECK(memcmp(out + 1600, clean + 1600, 800 * sizeof(int16_t)) == 0,
          "the third digit differs after a NULL run");
    CHECK(!dtmfgen_busy(&g), "still busy after %d samples", total);
    dtmfgen_release(&g);
}

static void test_levels(void)
{
    static const float levels[][2] = {{-4, -4}, {-10, -17}, {-17, -10}, {-30, -30}, {-45, -38}, {-3, -3}};
    dtmfgen_t g;

    dtmfgen_init(&g);
    for (unsigned i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
    {
        dtmf_send_params_t p = params(levels[i][0], levels[i][1], 200, 0);
        float l;
        float h;

        memset(out, 0, sizeof(int16_t) * 1600);
        dtmfgen_put(&g, "5", &p);
        dtmfgen_run(&g, out, 1600, NULL, NULL);
        l = level_at(out, 1600, 770);
        h = level_at(out, 1600, 1336);
        CHECK(fabsf(l - levels[i][0]) < 0.3f, "low tone at %.2f dBm0, asked %.0f", l, levels[i][0]);
        CHECK(fabsf(h - levels[i][1]) < 0.3f, "high tone at %.2f dBm0, asked %.0f", h, levels[i][1]);
    }
    dtmfgen_release(&g);
}

static void test_frequency_error(void)
{
    static const float errors[][2] = {{0.0f, 0.0f}, {0.1f, -0.1f}, {1.5f, 0.0f}, {-3.5f, 3.5f}, {6.0f, -6.0f}};
    static const char digits[] = "1593";
    dtmfgen_t g;

    dtmfgen_init(&g);
    for (unsigned i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
    {
        for (const char *d = digits; *d; d++)
        {
            dtmf_send_params_t p = params(-10, -10, 1000, 0);
            int lo;
            int hi;
            float want_lo;
            float want_hi;
            float got_lo;
            float got_hi;

            p.error_low = errors[i][0];
            p.error_high = errors[i][1];
            dtmf_digit_freqs(*d, &lo, &hi);
            want_lo = lo * (1.0f + errors[i][0] / 100.0f);
            want_hi = hi * (1.0f + errors[i][1] / 100.0f);
            memset(out, 0, sizeof(int16_t) * SAMPLE_RATE);
            dtmfgen_put(&g, (char[]) {*d, '\0'}, &p);
            dtmfgen_run(&g, out, SAMPLE_RATE, NULL, NULL);
            got_lo = peak_freq(out, SAMPLE_RATE, want_lo, 4.0f);
            got_hi = peak_freq(out, SAMPLE_RATE, want_hi, 4.0f);
            /* Fractional frequencies: a 0.1 % error is 0.7 Hz at 697 Hz, not rounded away. */
            CHECK(fabsf(got_lo - want_lo) < 0.1f, "digit %c, %+.1f %%: low tone at %.2f Hz, expected %.2f",
                  *d, errors[i][0], got_lo, want_lo);
            CHECK(fabsf(got_hi - want_hi) < 0.1f, "digit %c, %+.1f %%: high tone at %.2f Hz, expected %.2f",
                  *d, errors[i][1], got_hi, want_hi);
            CHECK(fabsf(level_at(out, SAMPLE_RATE, want_lo) - (-10.0f)) < 0.3f,
                  "digit %c, %+.1f %%: the low tone lost level", *d, errors[i][0]);
        }
    }
    dtmfgen_release(&g);
}

/* Digits ride on whatever is already in the buffer, and clip rather than wrap. */
static void test_mixing(void)
{
    dtmfgen_t g;
    /* Loud, but the two tones alone stay below full scale. */
    dtmf_send_params_t p = params(-4.0f, -4.0f, 100, 100);
    int overflow = 0;
    int clipped = 0;

    dtmfgen_init(&g);
    memset(clean, 0, sizeof(int16_t) * 1600);
    dtmfgen_put(&g, "D", &p);
    dtmfgen_run(&g, clean, 1600, NULL, NULL);
    for (int i = 0; i < 1600; i++)
        out[i] = 1000;
    dtmfgen_put(&g, "D", &p);
    dtmfgen_run(&g, out, 1600, NULL, NULL);
    for (int i = 0; i < 1600; i++)
    {
        if (out[i] != (int16_t) (clean[i] + 1000))
            overflow++;
    }
    CHECK(overflow == 0, "%d samples are not the buffer plus the digit", overflow);
    CHECK(all_equal(out + 800, 800, 1000), "the off time changed the buffer");

    for (int i = 0; i < 1600; i++)
        out[i] = 30000;
    dtmfgen_put(&g, "D", &p);
    dtmfgen_run(&g, out, 1600, NULL, NULL);
    overflow = 0;
    for (int i = 0; i < 800; i++)
    {
        int32_t want = 30000 + clean[i];
        if (want > 32767)
        {
            clipped++;
            want = 32767;
        }
        if (out[i] != want)
            overflow++;
    }
    CHECK(clipped > 0, "the test signal never reached full scale");
    CHECK(overflow == 0, "%d samples wrapped instead of clipping", overflow);
    dtmfgen_release(&g);
}

/* What the generator sends is what spandsp's receiver decodes: the acceptance
   procedure's decode test, 50 ms on and 50 ms off at -4 dBm0 per tone. */
static void test_decodes(void)
{
    static const char all[] = "123A456B789C*0#D";
    dtmf_send_params_t p = params(-4, -4, 50, 50);
    dtmf_rx_state_t *rx;
    dtmfgen_t g;
    char got[128];
    int n = 0;

    dtmfgen_init(&g);
    rx = dtmf_rx_init(NULL, NULL, NULL);
    REQUIRE(rx != NULL, "dtmf_rx_init failed");
    memset(got, 0, sizeof(got));
    for (int burst = 0; burst < 4; burst++)
    {
        int16_t frame[160];

        dtmfgen_put(&g, all, &p);
        while (dtmfgen_busy(&g))
        {
            memset(frame, 0, sizeof(frame));
            dtmfgen_run(&g, frame, 160, NULL, NULL);
            dtmf_rx(rx, frame, 160);
        }
        memset(frame, 0, sizeof(frame));
        for (int k = 0; k < 4; k++)
            dtmf_rx(rx, frame, 160);
        n += dtmf_rx_get(rx, got + n, (int) sizeof(got) - 1 - n);
    }
    CHECK(n == 64, "%d digits decoded, expected 64", n);
    for (int burst = 0; burst < 4 && n == 64; burst++)
        CHECK(memcmp(got + 16 * burst, all, 16) == 0, "burst %d decoded as '%.16s'", burst, got + 16 * burst);
    dtmf_rx_free(rx);
    dtmfgen_release(&g);
}

int main(void)
{
    CTEST_RUN(test_digit_freqs);
    CTEST_RUN(test_lifecycle);
    CTEST_RUN(test_rejects);
    CTEST_RUN(test_timing);
    CTEST_RUN(test_edges_in_frames);
    CTEST_RUN(test_blocks_and_null);
    CTEST_RUN(test_levels);
    CTEST_RUN(test_frequency_error);
    CTEST_RUN(test_mixing);
    CTEST_RUN(test_decodes);
    return ctest_finish();
}
