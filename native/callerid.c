#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "callerid.h"

int cid_standard_valid(int standard)
{
    return standard == CID_BELL202 || standard == CID_V23 || standard == CID_DTMF;
}

int cid_info_check(int standard, const cid_info_t *info)
{
    size_t n = strnlen(info->number, CID_MAX + 1);

    if (n > CID_MAX || strnlen(info->name, CID_MAX + 1) > CID_MAX)
        return ERR_ARG;
    for (size_t i = 0; i < n; i++)
    {
        char c = info->number[i];
        /* DTMF caller ID can only carry digits; FSK numbers are digits too by standard. */
        if (!(c >= '0' && c <= '9') && !(standard != CID_DTMF && (c == '+' || c == '*' || c == '#')))
            return ERR_ARG;
    }
    for (const char *p = info->name; *p; p++)
    {
        /* FSK carries 7-bit text; control characters would corrupt the message. */
        if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7E)
            return ERR_ARG;
    }
    if (info->absence && info->absence != 'P' && info->absence != 'O')
        return ERR_ARG;
    return 0;
}

cid_tx_t *cid_tx_init(cid_tx_t *s)
{
    if (s == NULL)
    {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
    }
    else
    {
        memset(s, 0, sizeof(*s));
    }
    return s;
}

int cid_tx_release(cid_tx_t *s)
{
    if (s->adsi)
        adsi_tx_free(s->adsi);
    s->adsi = NULL;
    s->active = 0;
    return 0;
}

int cid_tx_free(cid_tx_t *s)
{
    if (s == NULL)
        return 0;
    cid_tx_release(s);
    free(s);
    return 0;
}

static int build_fsk(adsi_tx_state_t *adsi, int standard, uint8_t *msg, const cid_info_t *info,
                     const char *mmddhhmm)
{
    /* Bell 202 (CLASS) and V.23 (CLIP) share the MDMF layout and field codes. */
    int type = (standard == CID_BELL202) ? CLASS_MDMF_CALLERID : CLIP_MDMF_CALLERID;
    int len = adsi_add_field(adsi, msg, -1, (uint8_t) type, NULL, 0);

    if (mmddhhmm && strlen(mmddhhmm) == 8)
        len = adsi_add_field(adsi, msg, len, CLIP_DATETIME, (const uint8_t *) mmddhhmm, 8);
    if (info->number[0])
    {
        len = adsi_add_field(adsi, msg, len, CLIP_CALLER_NUMBER, (const uint8_t *) info->number,
                             (int) strlen(info->number));
    }
    else
    {
        uint8_t why = (uint8_t) (info->absence ? info->absence : 'O');
        len = adsi_add_field(adsi, msg, len, CLIP_ABSENCE1, &why, 1);
    }
    if (info->name[0])
    {
        len = adsi_add_field(adsi, msg, len, CLIP_CALLER_NAME, (const uint8_t *) info->name,
                             (int) strlen(info->name));
    }
    return len;
}

static int build_dtmf(adsi_tx_state_t *adsi, uint8_t *msg, const cid_info_t *info)
{
    /* spandsp keeps the message type as the terminator after the last field; receivers
       (spandsp's too) only take a message that ends in '#' or 'C'. */
    int len = adsi_add_field(adsi, msg, -1, CLIP_DTMF_HASH_TERMINATED, NULL, 0);

    if (info->number[0])
    {
        len = adsi_add_field(adsi, msg, len, CLIP_DTMF_HASH_CALLER_NUMBER,
                             (const uint8_t *) info->number, (int) strlen(info->number));
    }
    else
    {
        /* D1# = restricted by the caller, D3# = not available. */
        const uint8_t *why = (const uint8_t *) ((info->absence == 'P') ? "1" : "3");
        len = adsi_add_field(adsi, msg, len, CLIP_DTMF_HASH_ABSENCE, why, 1);
    }
    return len;
}

int cid_tx_start(cid_tx_t *s, int standard, const cid_info_t *info, const char *mmddhhmm)
{
    uint8_t msg[256];
    int len;
    int rc;

    if (!cid_standard_valid(standard))
        return ERR_ARG;
    if ((rc = cid_info_check(standard, info)) < 0)
        return rc;
    if (s->adsi == NULL || s->standard != standard)
    {
        if (s->adsi)
            adsi_tx_free(s->adsi);
        if ((s->adsi = adsi_tx_init(NULL, standard)) == NULL)
            return ERR_NOMEM;
        s->standard = standard;
    }
    else
    {
        adsi_tx_init(s->adsi, standard);
    }
    memset(msg, 0, sizeof(msg));
    if (standard == CID_DTMF)
        len = build_dtmf(s->adsi, msg, info);
    else
        len = build_fsk(s->adsi, standard, msg, info, mmddhhmm);
    if (adsi_tx_put_message(s->adsi, msg, len) <= 0)
        return ERR_ARG;
    s->active = 1;
    return 0;
}

int cid_tx_run(cid_tx_t *s, int16_t *amp, int n)
{
    int got;

    if (!s->active)
        return 0;
    got = adsi_tx(s->adsi, amp, n);
    if (got < n)
        s->active = 0;
    return got;
}

static void copy_field(char *dst, const uint8_t *body, int len)
{
    int k = 0;

    for (int i = 0; i < len && k < CID_MAX; i++)
    {
        /* Keep printable 7-bit text only: what a line delivers is not trusted. */
        if (body[i] >= 0x20 && body[i] < 0x7F)
            dst[k++] = (char) body[i];
    }
    dst[k] = '\0';
}

static void rx_message(void *user_data, const uint8_t *msg, int len)
{
    cid_rx_t *s = (cid_rx_t *) user_data;
    uint8_t type;
    const uint8_t *body;
    int flen;
    int pos = -1;
    cid_info_t info;

    memset(&info, 0, sizeof(info));
    if (len <= 0)
        return;
    if (s->standard == CID_DTMF)
    {
        while ((pos = adsi_next_field(s->adsi, msg, len, pos, &type, &body, &flen)) > 0)
        {
            /* The first "field" spandsp returns is the terminator, with no body. */
            if (body == NULL)
                continue;
            /* A number with no start marker comes back as an unspecified field. */
            if (type == CLIP_DTMF_HASH_CALLER_NUMBER || type == CLIP_DTMF_C_CALLER_NUMBER
                || type == CLIP_DTMF_HASH_UNSPECIFIED)
                copy_field(info.number, body, flen);
            else if (type == CLIP_DTMF_HASH_ABSENCE && flen > 0)
                info.absence = (body[0] == '1') ? 'P' : 'O';
        }
    }
    else
    {
        int sdmf = (msg[0] == CLASS_SDMF_CALLERID);

        if (sdmf)
        {
            /* Single data message: 8 digits of date and time, then the number. */
            if (len > 2 + 8)
                copy_field(info.number, msg + 2 + 8, len - 2 - 8);
            if (info.number[0] == 'P' || info.number[0] == 'O')
            {
                info.absence = info.number[0];
                info.number[0] = '\0';
            }
        }
        else
        {
            while ((pos = adsi_next_field(s->adsi, msg, len, pos, &type, &body, &flen)) > 0)
            {
                if (body == NULL)
                    continue;
                if (type == CLIP_CALLER_NUMBER)
                    copy_field(info.number, body, flen);
                else if (type == CLIP_CALLER_NAME)
                    copy_field(info.name, body, flen);
                else if ((type == CLIP_ABSENCE1 || type == CLIP_ABSENCE2) && flen > 0 && !info.number[0])
                    info.absence = (body[0] == 'P') ? 'P' : 'O';
            }
        }
    }
    if (info.number[0] || info.name[0] || info.absence)
    {
        s->info = info;
        s->ready = 1;
    }
}

cid_rx_t *cid_rx_init(cid_rx_t *s)
{
    if (s == NULL)
    {
        if ((s = calloc(1, sizeof(*s))) == NULL)
            return NULL;
    }
    else
    {
        memset(s, 0, sizeof(*s));
    }
    return s;
}

int cid_rx_release(cid_rx_t *s)
{
    if (s->adsi)
        adsi_rx_free(s->adsi);
    s->adsi = NULL;
    return 0;
}

int cid_rx_free(cid_rx_t *s)
{
    if (s == NULL)
        return 0;
    cid_rx_release(s);
    free(s);
    return 0;
}

int cid_rx_start(cid_rx_t *s, int standard)
{
    if (!cid_standard_valid(standard))
        return ERR_ARG;
    if (s->adsi)
        adsi_rx_free(s->adsi);
    if ((s->adsi = adsi_rx_init(NULL, standard, rx_message, s)) == NULL)
        return ERR_NOMEM;
    s->standard = standard;
    s->ready = 0;
    memset(&s->info, 0, sizeof(s->info));
    return 0;
}

void cid_rx_run(cid_rx_t *s, const int16_t *amp, int n)
{
    if (s->adsi)
        adsi_rx(s->adsi, amp, n);
}
