/*
 * The echo canceller: it learns a hybrid's echo from speech-shaped audio and takes
 * most of it out; the caller's digits over a prompt reach the output unharmed and do
 * not spoil what it learnt; with nothing sent the receive path is untouched; a new
 * echo path is learnt again; bad tail lengths are refused.
 */
#include <math.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "common.h"
#include "echocan.h"

#define SECONDS(s) ((s) * SAMPLE_RATE)
#define LEN SECONDS(10)

static int16_t tx[LEN];
static int16_t echo[LEN];
static int16_t near[LEN];
static int16_t rx[LEN];

static double mean_power(const int16_t *a, int n)
{
    double sum = 0.0;

    for (int i = 0; i < n; i++)
        sum += (double) a[i] * a[i];
    return sum / n;
}

static double db(double ratio)
{
    return 10.0 * log10(ratio);
}

/* Speech-shaped (Hoth) noise at this level: the box's prompt, as far as the canceller
   can tell. */
static void prompt(int16_t *a, int n, float dbm0, int seed)
{
    noise_state_t *ns = noise_init_dbm0(NULL, seed, dbm0, NOISE_CLASS_HOTH, 0);

    for (int i = 0; i < n; i++)
        a[i] = noise(ns);
    noise_free(ns);
}

static void white(int16_t *a, int n, float dbm0, int seed)
{
    noise_state_t *ns = noise_init_dbm0(NULL, seed, dbm0, NOISE_CLASS_AWGN, 7);

    for (int i = 0; i < n; i++)
        a[i] = noise(ns);
    noise_free(ns);
}

/* A hybrid: the box's audio back after `delay` samples through a short dispersive
   response whose main tap is `gain`. */
static void hybrid(const int16_t *in, int16_t *out, int n, int delay, float gain)
{
    const float h[4] = {gain, -0.35f * gain, 0.15f * gain, -0.05f * gain};

    for (int i = 0; i < n; i++)
    {
        float v = 0.0f;

        for (int k = 0; k < 4; k++)
            if (i - delay - k >= 0)
                v += h[k] * in[i - delay - k];
        out[i] = (int16_t) lrintf(v);
    }
}

static void mix(const int16_t *a, const int16_t *b, int16_t *out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = saturate16((int32_t) a[i] + b[i]);
}

/* Frame by frame, as the board calls it. */
static void cancel(echocan_t *ec, const int16_t *t, int16_t *r, int n)
{
    for (int i = 0; i < n; i += FRAME_SAMPLES)
        echocan_update(ec, t ? t + i : NULL, r + i, FRAME_SAMPLES);
}

static void test_tails(void)
{
    echocan_t *ec;

    CHECK(echocan_init(NULL, 0) == NULL, "0 taps refused");
    CHECK(echocan_init(NULL, 8) == NULL, "8 taps (below the minimum) refused");
    CHECK(echocan_init(NULL, 100) == NULL, "100 taps (not a multiple of 8) refused");
    CHECK(echocan_init(NULL, ECHOCAN_MAX_TAPS + 8) == NULL, "longer than the longest tail refused");
    ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    REQUIRE(ec != NULL, "the default tail is accepted");
    CHECK(echocan_taps(ec) == ECHOCAN_DEFAULT_TAPS, "taps reported");
    CHECK(echocan_init(ec, 64) == ec, "re-initialised shorter in place");
    CHECK(echocan_taps(ec) == 64, "the shorter tail applies");
    CHECK(echocan_init(ec, 256) == NULL, "cannot grow past what was allocated");
    echocan_free(ec);
}

static void test_silence_passes_unchanged(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);

    REQUIRE(ec != NULL, "made");
    white(near, SECONDS(1), -30.0f, 11);
    memcpy(rx, near, SECONDS(1) * sizeof(int16_t));
    cancel(ec, NULL, rx, SECONDS(1));
    CHECK(memcmp(rx, near, SECONDS(1) * sizeof(int16_t)) == 0, "no reference: output is the input, bit for bit");
    echocan_free(ec);
}

/* Echo return loss enhancement over the last second of a prompt with echo only. */
static double erle_after(echocan_t *ec, int delay, float gain, int seed)
{
    int n = SECONDS(3);

    prompt(tx, n, -12.0f, seed);
    hybrid(tx, echo, n, delay, gain);
    white(near, n, -55.0f, seed + 1);
    mix(echo, near, rx, n);
    cancel(ec, tx, rx, n);
    return db(mean_power(echo + SECONDS(2), SECONDS(1)) / mean_power(rx + SECONDS(2), SECONDS(1)));
}

static void test_learns_the_echo(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    double erle;

    REQUIRE(ec != NULL, "made");
    /* 12 dB return loss after 8 ms, the worst line of the barge-in tests. */
    erle = erle_after(ec, 64, 0.25f, 21);
    printf("   echo 12 dB down after 8 ms: %.1f dB more taken out after 2 s\n", erle);
    CHECK(erle >= 20.0, "at least 20 dB of the echo cancelled (got %.1f dB)", erle);
    /* A tail near the end of the window, 6 dB return loss (the least G.168 assumes). */
    echocan_reset(ec);
    erle = erle_after(ec, 120, 0.5f, 31);
    printf("   echo 6 dB down after 15 ms: %.1f dB\n", erle);
    CHECK(erle >= 20.0, "a late, strong echo cancelled too (got %.1f dB)", erle);
    echocan_free(ec);
}

/* A prompt as speech comes: voiced syllables 80 to 320 ms long, each on its own pitch
   (100 to 250 Hz) with its harmonics shaped by its own formant (300 to 2,500 Hz), at
   levels 10 dB apart, with pauses of 40 to 400 ms between them. Each syllable shows
   the canceller another part of the spectrum, as speech does. */
static void spoken_prompt(int16_t *a, int n, float dbm0, int seed)
{
    const double peak = 32767.0 * pow(10.0, (dbm0 - 3.14) / 20.0);
    uint32_t r = (uint32_t) seed;
    int i = 0;

    while (i < n)
    {
        int on, off;
        double f0, formant, gain, norm = 0.0;
        double amp[40];
        int nh;

        r = r * 1664525u + 1013904223u;
        on = 640 + (int) ((r >> 8) % 1921);
        off = 320 + (int) ((r >> 4) % 2881);
        gain = ((r >> 20) & 1) ? 1.0 : 0.316;
        r = r * 1664525u + 1013904223u;
        f0 = 100.0 + (double) ((r >> 8) % 151);
        formant = 300.0 + (double) ((r >> 12) % 2201);
        nh = (int) (3400.0 / f0);
        if (nh > 40)
            nh = 40;
        for (int h = 0; h < nh; h++)
        {
            double d = ((h + 1) * f0 - formant) / 300.0;
            amp[h] = exp(-d * d);
            norm += amp[h] * amp[h] / 2.0;
        }
        for (int k = 0; k < on && i < n; k++, i++)
        {
            double v = 0.0;
            for (int h = 0; h < nh; h++)
                v += amp[h] * sin(2.0 * M_PI * (h + 1) * f0 * k / SAMPLE_RATE);
            a[i] = (int16_t) lrint(gain * peak * v / sqrt(2.0 * norm));
        }
        for (int k = 0; k < off && i < n; k++, i++)
            a[i] = 0;
    }
}

static void test_noisy_line_keeps_out_busy_tone_echo(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    int n = LEN;
    int start = SECONDS(6);
    double gaps = 0.0, gap_echo = 0.0;
    int rested = 0;

    REQUIRE(ec != NULL, "made");
    /* The busy-tone tests' echo line, 12 dB after 8 ms with the line's noise at
       -50 dBm0, and a prompt as speech comes. The caller hangs up 6 s into the call
       and the exchange sends busy tone (425 Hz, 500 ms on and off, -13 dBm0) under
       the prompt. In the prompt's pauses the noise alone comes in; the canceller must
       still find, within those 6 s, that it has learnt the echo and rest on it: a
       filter it does not trust yet adapts on the tone, is thrown off, and leaves the
       prompt's echo in the tone's silences, where the busy detector needs quiet. */
    spoken_prompt(tx, n, -15.0f, 61);
    hybrid(tx, echo, n, 64, 0.25f);
    white(near, n, -50.0f, 62);
    {
        uint32_t ph = 0;
        int32_t rate = dds_phase_rate(425.0f);
        int16_t a = dds_scaling_dbm0(-13.0f);

        for (int i = start; i < n; i++)
        {
            int16_t v = dds_mod(&ph, rate, a, 0);
            if ((i - start) % SECONDS(1) < SECONDS(1) / 2)
                near[i] = saturate16((int32_t) near[i] + v);
        }
    }
    mix(echo, near, rx, n);
    for (int i = 0; i < n; i += FRAME_SAMPLES)
    {
        echocan_update(ec, tx + i, rx + i, FRAME_SAMPLES);
        if (i < start && echocan_taps_in_use(ec) < ECHOCAN_DEFAULT_TAPS)
            rested = 1;
    }
    /* The echo left in the silences of the tone's last two seconds, each without its
       first 40 ms: what came out less the line's noise that went in. */
    for (int k = n - SECONDS(2); k < n; k += SECONDS(1))
    {
        for (int i = k + SECONDS(1) / 2 + 320; i < k + SECONDS(1); i++)
        {
            double left = (double) rx[i] - near[i];
            gaps += left * left;
            gap_echo += (double) echo[i] * echo[i];
        }
    }
    printf("   spoken prompt over a -50 dBm0 line: %s before the busy tone; echo taken out in its silences "
           "%.1f dB\n", rested ? "came to rest" : "never at rest", db(gap_echo / gaps));
    CHECK(rested, "at rest, on a window around the echo, before the busy tone");
    CHECK(db(gap_echo / gaps) >= 12.0, "the busy tone's silences keep the echo out (%.1f dB)", db(gap_echo / gaps));
    echocan_free(ec);
}

static void test_new_path_learnt_again(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    double erle;

    REQUIRE(ec != NULL, "made");
    erle_after(ec, 40, 0.3f, 41);
    /* The same canceller on another hybrid, without a reset. */
    erle = erle_after(ec, 90, 0.2f, 51);
    printf("   after the echo path changed: %.1f dB\n", erle);
    CHECK(erle >= 20.0, "the new path is learnt (got %.1f dB)", erle);
    echocan_free(ec);
}

/* Keys pressed over the prompt: the output carries them as they came, and the echo
   stays cancelled while and after they sound. */
static void test_double_talk(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    int n = SECONDS(4);
    int start = SECONDS(2);
    int len = SECONDS(1) / 2;
    static int16_t keys[SECONDS(4)];
    double before, during_err, after;

    REQUIRE(ec != NULL, "made");
    prompt(tx, n, -10.0f, 61);
    hybrid(tx, echo, n, 64, 0.25f);
    memset(keys, 0, sizeof(keys));
    {
        /* Digit '5' (770 + 1336 Hz) at -20 dBm0 a tone, for half a second. */
        uint32_t p1 = 0, p2 = 0;
        int32_t r1 = dds_phase_rate(770.0f), r2 = dds_phase_rate(1336.0f);
        int16_t a = dds_scaling_dbm0(-20.0f);

        for (int i = start; i < start + len; i++)
            keys[i] = dds_mod(&p1, r1, a, 0) + dds_mod(&p2, r2, a, 0);
    }
    mix(echo, keys, rx, n);
    cancel(ec, tx, rx, n);
    before = db(mean_power(echo + start - SECONDS(1), SECONDS(1)) / mean_power(rx + start - SECONDS(1), SECONDS(1)));
    {
        /* What the output has besides the keys, while they sound. */
        static int16_t residual[SECONDS(1) / 2];

        for (int i = 0; i < len; i++)
            residual[i] = rx[start + i] - keys[start + i];
        during_err = db(mean_power(echo + start, len) / mean_power(residual, len));
    }
    after = db(mean_power(echo + start + len, SECONDS(1)) / mean_power(rx + start + len, SECONDS(1)));
    printf("   echo taken out before the keys %.1f dB, while they sound %.1f dB, after %.1f dB\n", before,
           during_err, after);
    CHECK(before >= 20.0, "converged before the keys (%.1f dB)", before);
    CHECK(during_err >= 20.0, "the keys do not throw the output off (%.1f dB)", during_err);
    CHECK(after >= 20.0, "still cancelled after the keys (%.1f dB)", after);
    echocan_free(ec);
}

/* A line with no echo, only the codec's idle offset and faint hiss: nothing to fit,
   and the output must never get worse than what came in (a filter once fitted the
   A-law idle value, +8, and drowned the caller's digits). */
static void test_no_echo_never_adds(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    int n = SECONDS(4);
    double in, out;

    REQUIRE(ec != NULL, "made");
    prompt(tx, n, -10.0f, 71);
    white(near, n, -70.0f, 72);
    for (int i = 0; i < n; i++)
        rx[i] = near[i] + 8;
    memcpy(echo, rx, n * sizeof(int16_t));
    cancel(ec, tx, rx, n);
    in = mean_power(echo, n);
    out = mean_power(rx, n);
    printf("   idle line: %.1f dB in, %.1f dB out\n", db(in), db(out));
    CHECK(out <= in * 1.05, "the output gained %.1f dB over the input", db(out / in));
    echocan_free(ec);
}

/* An exchange's busy tone from the far end, as loud as the prompt's echo and so far
   under the prompt that Geigel's test cannot tell it from echo: the canceller must
   keep the echo out of the tone's silences all the same, or the tone detector behind
   it hears no cadence. */
static void test_quiet_far_end_tone(void)
{
    echocan_t *ec = echocan_init(NULL, ECHOCAN_DEFAULT_TAPS);
    int n = LEN;
    int start = SECONDS(3);
    double before, gaps = 0.0, gap_echo = 0.0;

    REQUIRE(ec != NULL, "made");
    prompt(tx, n, -10.0f, 71);
    hybrid(tx, echo, n, 64, 0.25f);
    memset(near, 0, sizeof(near));
    {
        uint32_t ph = 0;
        int32_t rate = dds_phase_rate(425.0f);
        int16_t a = dds_scaling_dbm0((float) (10.0 * log10(mean_power(echo, n) / mean_power(tx, n))) - 10.0f);

        /* 500 ms on, 500 ms off, from the third second. */
        for (int i = start; i < n; i++)
        {
            int16_t v = dds_mod(&ph, rate, a, 0);
            near[i] = ((i - start) % SECONDS(1) < SECONDS(1) / 2) ? v : 0;
        }
    }
    mix(echo, near, rx, n);
    cancel(ec, tx, rx, n);
    before = db(mean_power(echo + start - SECONDS(1), SECONDS(1)) / mean_power(rx + start - SECONDS(1), SECONDS(1)));
    /* The silences of the tone's last two seconds, each without its first 40 ms. */
    for (int k = n - SECONDS(2); k < n; k += SECONDS(1))
    {
        int from = k + SECONDS(1) / 2 + 320, len = SECONDS(1) / 2 - 320;
        gaps += mean_power(rx + from, len);
        gap_echo += mean_power(echo + from, len);
    }
    printf("   echo taken out before the tone %.1f dB, in its silences later %.1f dB\n", before, db(gap_echo / gaps));
    CHECK(before >= 20.0, "converged before the tone (%.1f dB)", before);
    CHECK(db(gap_echo / gaps) >= 20.0, "the tone's silences keep the echo out (%.1f dB)", db(gap_echo / gaps));
    echocan_free(ec);
}

int main(void)
{
    CTEST_RUN(test_tails);
    CTEST_RUN(test_silence_passes_unchanged);
    CTEST_RUN(test_learns_the_echo);
    CTEST_RUN(test_noisy_line_keeps_out_busy_tone_echo);
    CTEST_RUN(test_new_path_learnt_again);
    CTEST_RUN(test_double_talk);
    CTEST_RUN(test_quiet_far_end_tone);
    CTEST_RUN(test_no_echo_never_adds);
    return ctest_finish();
}
