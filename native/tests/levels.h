/*
 * Levels in dBm0 on spandsp's scale, as the C tests measure what they hear: the mean
 * power of a block, and the level of one frequency in it.
 */
#ifndef APPLIANCE_TEST_LEVELS_H
#define APPLIANCE_TEST_LEVELS_H

#include <math.h>
#include <stdint.h>
#include <spandsp.h>

/* Mean power in dBm0 over amp[0..n) (a full-scale sine is DBM0_MAX_SINE_POWER); -200
   for digital silence. spandsp's own power meter is an IIR that ripples with a
   two-tone signal's beat, so the mean is taken here. */
static inline float power_dbm0(const int16_t *amp, int n)
{
    double sum = 0.0;

    for (int i = 0; i < n; i++)
        sum += (double) amp[i] * amp[i];
    if (sum <= 0.0)
        return -200.0f;
    return (float) (10.0 * log10(sum / n / (32767.0 * 32767.0)) + DBM0_MAX_POWER);
}

/* Level in dBm0 of the component at `freq` over amp[0..n), from a Goertzel filter;
   for a pure sine in the bin centre the filter gives
   ((n * 32768 / sqrt(2)) * 10^((level - DBM0_MAX_SINE_POWER) / 20))^2. */
static inline float level_at(const int16_t *amp, int n, float freq)
{
    goertzel_descriptor_t d;
    goertzel_state_t g;
    float r;

    make_goertzel_descriptor(&d, freq, n);
    goertzel_init(&g, &d);
    goertzel_update(&g, amp, n);
    r = goertzel_result(&g);
    if (r <= 0.0f)
        return -200.0f;
    return 10.0f * log10f(r) - 20.0f * log10f(n * 32768.0f / 1.4142f) + DBM0_MAX_SINE_POWER;
}

#endif
