/*
 * G.711 by table, shared by the engine, the simulated board and the benchmark's bare
 * loop: the values of spandsp's alaw/ulaw functions, which fill the tables, without
 * their per-sample branches on the sign, which audio mispredicts half the time.
 *
 * Rules:
 *  - A-law never looks at a sample's low 4 bits: its table is indexed by x >> 4.
 *  - Mu-law looks at the sign and at the magnitude's bits from 2 up (its bias, 0x84,
 *    carries nothing out of the low 2), so its table is indexed by the magnitude >> 2,
 *    mirrored below the middle for negative samples.
 *  - Every sample fills its slot, so a slot holds what each of its samples gives.
 *  - g711_tables() fills them once; every user calls it before coding.
 */
#ifndef APPLIANCE_G711_H
#define APPLIANCE_G711_H

#include <stdint.h>

extern int16_t g711_dec[2][256];    /* by law (LAW_ALAW, LAW_ULAW), then code */
extern uint8_t alaw_enc[1 << 12];
extern uint8_t ulaw_enc[(1 << 14) + 1];

void g711_tables(void);

/* (x >> 4) + 2048, written so that it stays in unsigned 16-bit arithmetic and
   vectorises. */
static inline int alaw_slot(int16_t x)
{
    return ((uint16_t) x >> 4) ^ (1 << 11);
}

static inline int ulaw_slot(int16_t x)
{
    int neg = x >> 15;

    return (1 << 13) + 1 + ((((x ^ neg) - neg) >> 2) ^ neg);
}

#endif
