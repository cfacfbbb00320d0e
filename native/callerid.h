/*
 * Caller ID: sending (the exchange side of a simulated line, and the box ringing an
 * office phone) and receiving (the box's lines, and simulated phones), on spandsp's
 * ADSI modules.
 *
 * Rules:
 *  - Standards are spandsp's numbers: CLASS (Bell 202 FSK) 1, CLIP (ETSI V.23 FSK) 2,
 *    CLIP_DTMF 5. A message carries a number, a name, or why the number is absent.
 *  - The receiver accepts both the multiple-data (MDMF) and single-data (SDMF)
 *    message formats, since exchanges send either.
 */
#ifndef APPLIANCE_CALLERID_H
#define APPLIANCE_CALLERID_H

#include <stdint.h>
#include <spandsp.h>

#define CID_MAX 32

enum cid_standard
{
    CID_NONE = 0,
    CID_BELL202 = ADSI_STANDARD_CLASS,
    CID_V23 = ADSI_STANDARD_CLIP,
    CID_DTMF = ADSI_STANDARD_CLIP_DTMF
};

typedef struct
{
    char number[CID_MAX + 1];
    char name[CID_MAX + 1];
    /* 'P' private, 'O' unavailable (out of area), 0 when a number is present */
    char absence;
} cid_info_t;

typedef struct cid_tx_s
{
    adsi_tx_state_t *adsi;
    int standard;
    int active;
} cid_tx_t;

typedef struct cid_rx_s
{
    adsi_rx_state_t *adsi;
    int standard;
    int ready;              /* a message was decoded into info */
    cid_info_t info;
} cid_rx_t;

int cid_standard_valid(int standard);

cid_tx_t *cid_tx_init(cid_tx_t *s);
int cid_tx_release(cid_tx_t *s);
int cid_tx_free(cid_tx_t *s);
/* Starts a message; month/day/hour/minute may be 0 to leave the date out. */
int cid_tx_start(cid_tx_t *s, int standard, const cid_info_t *info, const char *mmddhhmm);
/* Writes up to n samples; returns how many it wrote, 0 once the message is sent. */
int cid_tx_run(cid_tx_t *s, int16_t *amp, int n);

cid_rx_t *cid_rx_init(cid_rx_t *s);
int cid_rx_release(cid_rx_t *s);
int cid_rx_free(cid_rx_t *s);
int cid_rx_start(cid_rx_t *s, int standard);
void cid_rx_run(cid_rx_t *s, const int16_t *amp, int n);

/* Checks a number or name for what a line can carry; returns 0 or ERR_ARG. */
int cid_info_check(int standard, const cid_info_t *info);

#endif
