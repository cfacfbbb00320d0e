#include <spandsp.h>

#include "common.h"
#include "g711.h"

int16_t g711_dec[2][256];
uint8_t alaw_enc[1 << 12];
uint8_t ulaw_enc[(1 << 14) + 1];
static int ready;

void g711_tables(void)
{
    if (ready)
        return;
    for (int i = 0; i < 256; i++)
    {
        g711_dec[LAW_ALAW][i] = alaw_to_linear((uint8_t) i);
        g711_dec[LAW_ULAW][i] = ulaw_to_linear((uint8_t) i);
    }
    for (int x = INT16_MIN; x <= INT16_MAX; x++)
    {
        alaw_enc[alaw_slot((int16_t) x)] = linear_to_alaw(x);
        ulaw_enc[ulaw_slot((int16_t) x)] = linear_to_ulaw(x);
    }
    ready = 1;
}
