/*
 * The line model: its loss, its noise level and its hybrid echo (delay and return
 * loss) are what the parameters say, measured on what comes out; a line with none of
 * them passes audio unchanged; parameters outside their ranges are refused.
 */
#include <math.h>
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "levels.h"
#include "common.h"
#include "linemodel.h"

#define LONG_BLOCK (3 * SAMPLE_RATE)

static int16_t a[LONG_BLOCK];
static int16_t b[LONG_BLOCK];
static int16_t out[LONG_BLOCK];

static void sine(int16_t *amp, int n, float freq, float dbm0)
{
    uint32_t phase = 0;
    int32_t rate = dds_phase_rate(freq);
    int16_t scale = dds_scaling_dbm0(dbm0);

    for (int i = 0; i < n; i++)
        amp[i] = dds_mod(&phase, rate, scale, 0);
}

static line_params_t params(float loss, float noise, int delay, float erl)
{
    line_params_t p;

    line_params_default(&p);
    p.loss_db = loss;
    p.noise_dbm0 = noise;
    p.echo_delay_ms = delay;
    p.echo_return_loss_db = erl;
    return p;
}

/* Runs both directions frame by frame, as the board does. */
static void run_to_box(linemodel_t *m, const int16_t *far, const int16_t *box, int16_t *o, int n)
{
    for (int i = 0; i < n; i += FRAME_SAMPLES)
        linemodel_to_box(m, far ? far + i : NULL, box ? box + i : NULL, o + i, FRAME_SAMPLES);
}

static void test_params(void)
{
    line_params_t p;
    linemodel_t *m;

    line_params_default(&p);
    CHECK(line_params_check(&p) == 0, "the default line is refused");
    CHECK(p.loss_db == 0.0f && p.noise_dbm0 <= -90.0f && p.echo_return_loss_db >= 90.0f
          && p.hangup_signal == HANGUP_LOOP_BREAK, "the default line is not a clean loop-break line");

#define BAD(field, value)                                                               \
    do                                                                                  \
    {                                                                                   \
        line_params_default(&p);                                                        \
        p.field = value;                                                                \
        CHECK(line_params_check(&p) == ERR_ARG, #field " = " #value " accepted");       \
        CHECK(linemodel_init(NULL, &p, 1) == NULL, #field " = " #value " built a line"); \
    }                                                                                   \
    while (0)
#define GOOD(field, value)                                                              \
    do                                                                                  \
    {                                                                                   \
        line_params_default(&p);                                                        \
        p.field = value;                                                                \
        CHECK(line_params_check(&p) == 0, #field " = " #value " refused");              \
    }                                                                                   \
    while (0)

    BAD(loss_db, -0.5f);
    BAD(loss_db, 61.0f);
    BAD(loss_db, NAN);
    BAD(noise_dbm0, 0.5f);
    BAD(noise_dbm0, -201.0f);
    BAD(noise_dbm0, NAN);
    BAD(echo_delay_ms, -1);
    BAD(echo_delay_ms, 121);
    BAD(echo_delay_ms, 100000);
    BAD(echo_return_loss_db, -1.0f);
    BAD(echo_return_loss_db, 201.0f);
    BAD(echo_return_loss_db, NAN);
    BAD(hangup_signal, -1);
    BAD(hangup_signal, 3);
    GOOD(loss_db, 0.0f);
    GOOD(loss_db, 60.0f);
    GOOD(noise_dbm0, 0.0f);
    GOOD(noise_dbm0, -200.0f);
    /* linemodel.h: echo delays of 0 to 120 ms. */
    GOOD(echo_delay_ms, 0);
    GOOD(echo_delay_ms, 64);
    GOOD(echo_delay_ms, 108);
    GOOD(echo_delay_ms, 120);
    GOOD(echo_return_loss_db, 0.0f);
    GOOD(hangup_signal, HANGUP_POLARITY);
    GOOD(hangup_signal, HANGUP_BUSY_TONE);
#undef BAD
#undef GOOD

    p = params(3, -60, 20, 12);
    m = linemodel_init(NULL, &p, 0);
    CHECK(m != NULL, "linemodel_init(NULL) failed");
    CHECK(m && m->seed != 0, "a zero seed was kept: xorshift would stay at zero");
    CHECK(linemodel_free(m) == 0, "linemodel_free failed");
}

/* No loss, no noise, no echo: the line is a wire. */
static void test_clean_line(void)
{
    line_params_t p;
    linemodel_t m;

    line_params_default(&p);
    REQUIRE(linemodel_init(&m, &p, 5) == &m, "linemodel_init failed");
    for (int i = 0; i < 8000; i++)
    {
        a[i] = (int16_t) ((i * 7919) % 65536 - 32768);
        b[i] = (int16_t) (32767 - (i * 104729) % 65536);
    }
    run_to_box(&m, a, b, out, 8000);
    CHECK(memcmp(out, a, 8000 * sizeof(int16_t)) == 0, "the box does not hear the far end exactly");
    for (int i = 0; i < 8000; i += FRAME_SAMPLES)
        linemodel_to_far(&m, b + i, out + i, FRAME_SAMPLES);
    CHECK(memcmp(out, b, 8000 * sizeof(int16_t)) == 0, "the far end does not hear the box exactly");
    run_to_box(&m, NULL, b, out, 8000);
    for (int i = 0; i < 8000; i++)
    {
        if (out[i] != 0)
        {
            CHECK(0, "a silent far end is heard as %d at sample %d", out[i], i);
            break;
        }
    }
    linemodel_to_far(&m, NULL, out, FRAME_SAMPLES);
    CHECK(power_dbm0(out, FRAME_SAMPLES) < -150.0f, "a silent box is heard");
    linemodel_release(&m);
}

static void test_loss(void)
{
    static const float losses[] = {0.0f, 1.0f, 3.0f, 6.0f, 10.5f, 20.0f, 40.0f};
    linemodel_t m;

    sine(a, 8000, 1004.0f, -10.0f);
    for (unsigned k = 0; k < sizeof(losses) / sizeof(losses[0]); k++)
    {
        line_params_t p = params(losses[k], -99, 0, 99);
        float to_box;
        float to_far;

        linemodel_init(&m, &p, 1);
        run_to_box(&m, a, NULL, out, 8000);
        to_box = level_at(out, 8000, 1004.0f);
        for (int i = 0; i < 8000; i += FRAME_SAMPLES)
            linemodel_to_far(&m, a + i, out + i, FRAME_SAMPLES);
        to_far = level_at(out, 8000, 1004.0f);
        /* 40 dB down is 50 LSB: quantising costs a little there. */
        CHECK(fabsf(to_box - (-10.0f - losses[k])) < (losses[k] > 30 ? 0.3f : 0.05f),
              "%.1f dB loss: the box hears %.2f dBm0", losses[k], to_box);
        CHECK(fabsf(to_far - (-10.0f - losses[k])) < (losses[k] > 30 ? 0.3f : 0.05f),
              "%.1f dB loss: the far end hears %.2f dBm0", losses[k], to_far);
        linemodel_release(&m);
    }
}

static void test_noise(void)
{
    static const float levels[] = {-70.0f, -55.0f, -40.0f, -30.0f, -20.0f, -10.0f};
    linemodel_t m;
    linemodel_t other;

    for (unsigned k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
    {
        line_params_t p = params(0, levels[k], 0, 99);
        float box;
        float far;
        double mean = 0.0;

        linemodel_init(&m, &p, 1234);
        /* Three seconds in frames, as the board runs, then in one block. */
        run_to_box(&m, NULL, NULL, out, LONG_BLOCK);
        box = power_dbm0(out, LONG_BLOCK);
        for (int i = 0; i < LONG_BLOCK; i++)
            mean += out[i];
        mean /= LONG_BLOCK;
        linemodel_to_far(&m, NULL, out, LONG_BLOCK);
        far = power_dbm0(out, LONG_BLOCK);
        /* Below -60 dBm0 the noise is a few LSB and truncation shows. */
        CHECK(fabsf(box - levels[k]) < (levels[k] < -60 ? 1.0f : 0.1f), "noise %.0f dBm0: the box hears %.2f dBm0",
              levels[k], box);
        CHECK(fabsf(far - levels[k]) < (levels[k] < -60 ? 1.0f : 0.1f),
              "noise %.0f dBm0: the far end hears %.2f dBm0", levels[k], far);
        CHECK(fabs(mean) < 2.0 + pow(10.0, levels[k] / 20.0) * 200.0, "noise %.0f dBm0 has a DC offset of %.1f",
              levels[k], mean);
        linemodel_release(&m);
    }

    /* Two lines do not hear the same noise, nor one line the same frame twice. */
    {
        line_params_t p = params(0, -30, 0, 99);
        double cross = 0.0;
        double self = 0.0;
        int repeats = 0;

        linemodel_init(&m, &p, 1);
        linemodel_init(&other, &p, 2);
        run_to_box(&m, NULL, NULL, a, 8000);
        run_to_box(&other, NULL, NULL, b, 8000);
        for (int i = 0; i < 8000; i++)
        {
            cross += (double) a[i] * b[i];
            self += (double) a[i] * a[i];
        }
        CHECK(fabs(cross / self) < 0.05, "two lines' noise correlates by %.3f", cross / self);
        for (int f = 1; f < 50; f++)
            repeats += memcmp(a, a + f * FRAME_SAMPLES, FRAME_SAMPLES * sizeof(int16_t)) == 0;
        CHECK(repeats == 0, "%d frames of noise repeat the first", repeats);
        linemodel_release(&m);
        linemodel_release(&other);
    }

    /* Noise at -99 dBm0 is none at all. */
    {
        line_params_t p = params(0, -99, 0, 99);
        linemodel_init(&m, &p, 1);
        run_to_box(&m, NULL, NULL, out, 8000);
        CHECK(power_dbm0(out, 8000) < -150.0f, "a noiseless line is noisy");
        linemodel_release(&m);
    }
}

/* The box's own audio comes back to it after the echo delay, down by the return loss;
   the far end never hears an echo. */
static void test_echo(void)
{
    static const int delays[] = {0, 1, 8, 20, 64, 100, 108, 120};
    static const float erls[] = {6.0f, 12.0f, 18.0f, 30.0f};
    linemodel_t m;

    for (unsigned d = 0; d < sizeof(delays) / sizeof(delays[0]); d++)
    {
        line_params_t p = params(0, -99, delays[d], 6);
        int expect = delays[d] ? (int) MS_TO_SAMPLES(delays[d]) : 1;
        int first = -1;
        int count = 0;

        if (linemodel_init(&m, &p, 1) == NULL)
        {
            CHECK(0, "a line with %d ms of echo delay was refused", delays[d]);
            continue;
        }
        /* An impulse in the middle of a frame, then silence. */
        memset(b, 0, 4000 * sizeof(int16_t));
        b[100] = 16000;
        run_to_box(&m, NULL, b, out, 4000);
        for (int i = 0; i < 4000; i++)
        {
            if (out[i] != 0)
            {
                if (first < 0)
                    first = i;
                count++;
            }
        }
        CHECK(first == 100 + expect && count == 1, "%d ms delay: the echo came at %d ms (%d samples), expected %d",
              delays[d], first < 0 ? -1 : (first - 100) / 8, first - 100, expect);
        CHECK(first < 0 || abs(out[first] - 8019) <= 1, "6 dB return loss: the impulse came back as %d, expected 8019",
              first < 0 ? 0 : out[first]);
        /* Nothing of it reaches the far end but the box's audio itself. */
        for (int i = 0; i < 4000; i += FRAME_SAMPLES)
            linemodel_to_far(&m, b + i, out + i, FRAME_SAMPLES);
        CHECK(memcmp(out, b, 4000 * sizeof(int16_t)) == 0, "%d ms delay: the far end hears an echo", delays[d]);
        linemodel_release(&m);
    }

    /* Return loss on a tone, with the far end talking at the same time. */
    sine(b, 8000, 1004.0f, -10.0f);
    sine(a, 8000, 400.0f, -20.0f);
    for (unsigned k = 0; k < sizeof(erls) / sizeof(erls[0]); k++)
    {
        line_params_t p = params(0, -99, 32, erls[k]);
        float echo;
        float far;

        linemodel_init(&m, &p, 1);
        run_to_box(&m, a, b, out, 8000);
        /* Measure after the delay has filled. */
        echo = level_at(out + 400, 7600, 1004.0f);
        far = level_at(out + 400, 7600, 400.0f);
        CHECK(fabsf(echo - (-10.0f - erls[k])) < 0.1f, "%.0f dB return loss: echo at %.2f dBm0", erls[k], echo);
        CHECK(fabsf(far - (-20.0f)) < 0.1f, "%.0f dB return loss: the far end at %.2f dBm0", erls[k], far);
        /* Nothing but the far end in the first 32 ms. */
        CHECK(memcmp(out, a, 256 * sizeof(int16_t)) == 0, "%.0f dB return loss: echo before its delay", erls[k]);
        linemodel_release(&m);
    }

    /* Return loss of 90 dB or more is no echo. */
    {
        line_params_t p = params(0, -99, 10, 95);
        linemodel_init(&m, &p, 1);
        run_to_box(&m, NULL, b, out, 8000);
        CHECK(power_dbm0(out, 8000) < -150.0f, "an echo-free line echoes");
        linemodel_release(&m);
    }
}

/* Loud signals add up and clip; they never wrap round. */
static void test_saturation(void)
{
    line_params_t p = params(0, -10, 5, 0);
    linemodel_t m;
    int wrapped = 0;

    for (int i = 0; i < 8000; i++)
    {
        a[i] = 32000;
        b[i] = 32000;
    }
    linemodel_init(&m, &p, 3);
    run_to_box(&m, a, b, out, 8000);
    for (int i = 400; i < 8000; i++)
        wrapped += (out[i] < 0);
    CHECK(wrapped == 0, "%d samples wrapped round", wrapped);
    CHECK(out[7999] == 32767 || out[7998] == 32767, "the sum did not clip at full scale");
    for (int i = 0; i < 8000; i++)
    {
        a[i] = -32768;
        b[i] = -32768;
    }
    run_to_box(&m, a, b, out, 8000);
    wrapped = 0;
    for (int i = 400; i < 8000; i++)
        wrapped += (out[i] > 0);
    CHECK(wrapped == 0, "%d negative samples wrapped round", wrapped);
    linemodel_release(&m);
}

/* The frame path (vector code) and the per-sample loop, which the model takes for a
   block written in place, give the same samples: every gain from none to unity, with
   noise, echo on both sides of a frame's delay, silent sides, and sums that clip. */
static void test_frame_path_exact(void)
{
    static const float losses[] = {0.0f, 0.01f, 3.0f, 20.0f, 60.0f};
    static const int delays[] = {1, 12, 20, 40};
    uint32_t seed = 99;
    int bad = 0;

    for (int li = 0; li < 5; li++)
    {
        for (int di = 0; di < 4; di++)
        {
            line_params_t p = params(losses[li], (li % 2) ? -30.0f : -99.0f, delays[di], (di % 2) ? 0.0f : 6.0f);
            linemodel_t frame, sample;

            linemodel_init(&frame, &p, 7);
            linemodel_init(&sample, &p, 7);
            for (int f = 0; f < 20; f++)
            {
                int16_t far[FRAME_SAMPLES], box[FRAME_SAMPLES], o1[FRAME_SAMPLES], o2[FRAME_SAMPLES];
                int16_t o3[FRAME_SAMPLES], o4[FRAME_SAMPLES];
                int amp = (f % 4 == 3) ? 32768 : 1000 << (f % 4);
                /* A silent side is NULL to the frame path, zeros to the per-sample loop. */
                int quiet_far = (f % 5 == 2), quiet_box = (f % 7 == 4);

                for (int i = 0; i < FRAME_SAMPLES; i++)
                {
                    seed = seed * 1664525u + 1013904223u;
                    far[i] = quiet_far ? 0 : (int16_t) ((int32_t) (seed >> 8) % amp);
                    seed = seed * 1664525u + 1013904223u;
                    box[i] = quiet_box ? 0 : (int16_t) ((int32_t) (seed >> 8) % amp);
                }
                linemodel_to_box(&frame, quiet_far ? NULL : far, quiet_box ? NULL : box, o1, FRAME_SAMPLES);
                memcpy(o2, far, sizeof(o2));
                linemodel_to_box(&sample, o2, quiet_box ? NULL : box, o2, FRAME_SAMPLES);
                linemodel_to_far(&frame, quiet_box ? NULL : box, o3, FRAME_SAMPLES);
                memcpy(o4, box, sizeof(o4));
                linemodel_to_far(&sample, o4, o4, FRAME_SAMPLES);
                bad += memcmp(o1, o2, sizeof(o1)) != 0;
                bad += memcmp(o3, o4, sizeof(o3)) != 0;
            }
        }
    }
    CHECK(bad == 0, "%d frames differ between the frame path and the per-sample loop", bad);
}

int main(void)
{
    CTEST_RUN(test_params);
    CTEST_RUN(test_clean_line);
    CTEST_RUN(test_loss);
    CTEST_RUN(test_noise);
    CTEST_RUN(test_echo);
    CTEST_RUN(test_saturation);
    CTEST_RUN(test_frame_path_exact);
    return ctest_finish();
}
