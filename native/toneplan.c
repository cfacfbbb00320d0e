/*
 * Tone plan data. Each plan names its sources; values are nominal, detection
 * tolerances are applied in supervise.c, not here.
 */
#include <string.h>

#include "toneplan.h"

#define CONT(f1, f2, lvl) {1, 0, {{f1, f2, lvl, 0}}}
#define CADENCE(f1, f2, lvl, on, off) {2, 1, {{f1, f2, lvl, on}, {0, 0, 0, off}}}
/* Special information tone: three rising frequencies, then a pause. */
#define SIT3(fa, ma, fb, mb, fc, mc, lvl, pause) \
    {4, 1, {{fa, 0, lvl, ma}, {fb, 0, lvl, mb}, {fc, 0, lvl, mc}, {0, 0, 0, pause}}}

static const tone_plan_t plans[] =
{
    /* ITU-T E.180 (03/1998) recommended values, as Yate's built-in "itu" tone set
       (modules/tonegen.cpp) also uses them: 425 Hz for dial, ringing, busy and congestion tones; ringing tone
       about 1 s on / 4 s off; busy tone on and off equal, within 0.1 to 0.6 s; the
       special information tone per ITU-T Q.35 and E.180 section 7:
       950/1400/1800 Hz, 330 ms each, then 1 s of silence. */
    {
        "itu", "ITU-T E.180 default",
        {
            [TONE_NONE] = {0},
            [TONE_DIAL] = CONT(425, 0, -10),
            [TONE_BUSY] = CADENCE(425, 0, -10, 500, 500),
            [TONE_RINGBACK] = CADENCE(425, 0, -10, 1000, 4000),
            [TONE_CONGESTION] = CADENCE(425, 0, -10, 250, 250),
            [TONE_SIT] = SIT3(950, 330, 1400, 330, 1800, 330, -20, 1000),
        },
        {1000, 4000, 0, 0}
    },
    /* Russia: the "ru" entry of Asterisk's indications.conf ("Russian Federation /
       ex Soviet Union", citing GOST 45-223-2001) and libtonezone's "ru" zone
       (dahdi-tools zonedata.c): dial 425 Hz continuous, busy 425 Hz 350/350 ms,
       ringback 425 Hz 1000/4000 ms, congestion 425 Hz 175/175 ms, ringing 1000/4000
       ms, SIT 950/1400/1800 Hz 330 ms each then 1 s. These sit inside the ranges of
       Order No. 133 of the Ministry of Communications (21.10.2009), annex 3, table 1:
       busy 0.3-0.4 s on and off, congestion 0.15-0.2 s, ringback 1.0 s / 4.0 s,
       levels -5 to -15 dBm0. */
    {
        "ru", "Russia",
        {
            [TONE_NONE] = {0},
            [TONE_DIAL] = CONT(425, 0, -10),
            [TONE_BUSY] = CADENCE(425, 0, -10, 350, 350),
            [TONE_RINGBACK] = CADENCE(425, 0, -10, 1000, 4000),
            [TONE_CONGESTION] = CADENCE(425, 0, -10, 175, 175),
            [TONE_SIT] = SIT3(950, 330, 1400, 330, 1800, 330, -20, 1000),
        },
        {1000, 4000, 0, 0}
    },
    /* Ukraine: neither libtonezone, Asterisk, FreeSWITCH, spandsp's copy of the ITU
       list of national tones (ITU-T E.180 Supplement 2) nor Yate has a Ukrainian
       entry, and no DSTU text was available. Values from the line-tone table
       published by the Ukrainian VoIP integrator pro-voip.com.ua ("Standard line
       tone signals"): dial 425 Hz continuous, ringback 425 Hz 1000/4000 ms, busy
       425 Hz 400/400 ms, congestion 425 Hz 200/200 ms, ringing 1000/4000 ms. They
       are the ex-USSR 425 Hz plan and fall inside the Russian ranges above; SIT per
       ITU-T Q.35. */
    {
        "ua", "Ukraine",
        {
            [TONE_NONE] = {0},
            [TONE_DIAL] = CONT(425, 0, -10),
            [TONE_BUSY] = CADENCE(425, 0, -10, 400, 400),
            [TONE_RINGBACK] = CADENCE(425, 0, -10, 1000, 4000),
            [TONE_CONGESTION] = CADENCE(425, 0, -10, 200, 200),
            [TONE_SIT] = SIT3(950, 330, 1400, 330, 1800, 330, -20, 1000),
        },
        {1000, 4000, 0, 0}
    },
    /* United States: the North American precise tone plan (ANSI T1.401, Telcordia
       GR-506), as in libtonezone's "us" zone: dial 350+440 Hz -13 dBm0, busy
       480+620 Hz -24 dBm0 500/500 ms, ringback 440+480 Hz -19 dBm0 2/4 s, reorder
       480+620 Hz 250/250 ms; SIT "vacant code" 913.8/1370.6/1776.7 Hz,
       274/274/380 ms at -13 dBm0 (Telcordia GR-1162; level as in the ITU list of
       national tones); ringing 2 s on / 4 s off. */
    {
        "us", "United States",
        {
            [TONE_NONE] = {0},
            [TONE_DIAL] = CONT(350, 440, -13),
            [TONE_BUSY] = CADENCE(480, 620, -24, 500, 500),
            [TONE_RINGBACK] = CADENCE(440, 480, -19, 2000, 4000),
            [TONE_CONGESTION] = CADENCE(480, 620, -24, 250, 250),
            [TONE_SIT] = SIT3(914, 274, 1371, 274, 1777, 380, -13, 1000),
        },
        {2000, 4000, 0, 0}
    },
};

static const char *const tone_names[TONE_COUNT] =
{
    "none", "dial", "busy", "ringback", "congestion", "sit"
};

const tone_plan_t *tone_plan_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (unsigned i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
    {
        if (strcmp(plans[i].name, name) == 0)
            return &plans[i];
    }
    return NULL;
}

const tone_plan_t *tone_plan_default(void)
{
    return &plans[0];
}

int tone_plan_count(void)
{
    return (int) (sizeof(plans) / sizeof(plans[0]));
}

const tone_plan_t *tone_plan_at(int i)
{
    if (i < 0 || i >= tone_plan_count())
        return NULL;
    return &plans[i];
}

const char *tone_name(int tone)
{
    if (tone < 0 || tone >= TONE_COUNT)
        return "unknown";
    return tone_names[tone];
}
