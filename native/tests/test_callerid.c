/*
 * Caller ID: what cid_tx sends, cid_rx reads back, for Bell 202, V.23 and DTMF, over
 * a G.711 line with some noise; private and unavailable callers arrive as such; bad
 * numbers and names are refused before anything is sent.
 */
#include <string.h>
#include <spandsp.h>

#include "ctest.h"
#include "common.h"
#include "callerid.h"

static const int standards[] = {CID_BELL202, CID_V23, CID_DTMF};

static const char *std_name(int standard)
{
    switch (standard)
    {
    case CID_BELL202: return "Bell 202";
    case CID_V23: return "V.23";
    case CID_DTMF: return "DTMF";
    default: return "?";
    }
}

static cid_info_t info(const char *number, const char *name, char absence)
{
    cid_info_t i;

    memset(&i, 0, sizeof(i));
    memcpy(i.number, number, strnlen(number, CID_MAX));
    memcpy(i.name, name, strnlen(name, CID_MAX));
    i.absence = absence;
    return i;
}

typedef struct
{
    int law;                /* -1 for a linear path */
    float noise_dbm0;       /* <= -90 for none */
    int lead_ms;            /* silence on the line before the message */
} path_t;

static const path_t clean_path = {-1, -99.0f, 0};

/* Sends one message through the path into a receiver; returns the samples the
   transmitter produced, or -1 when it would not start. The receiver hears 300 ms of
   silence after the message, as it would between the message and the next ring. */
static int round_trip(int standard, const cid_info_t *in, const char *date, const path_t *path, cid_rx_t *rx)
{
    cid_tx_t tx;
    noise_state_t *nz = NULL;
    int16_t frame[FRAME_SAMPLES];
    int total = 0;
    int silent = 0;
    int lead = (int) MS_TO_SAMPLES(path->lead_ms);

    cid_tx_init(&tx);
    if (cid_rx_start(rx, standard) < 0 || cid_tx_start(&tx, standard, in, date) < 0)
    {
        cid_tx_release(&tx);
        return -1;
    }
    if (path->noise_dbm0 > -90.0f)
        nz = noise_init_dbm0(NULL, 7654321, path->noise_dbm0, NOISE_CLASS_AWGN, 0);
    while (silent < (int) MS_TO_SAMPLES(300) && total < 10 * SAMPLE_RATE)
    {
        int got = 0;

        memset(frame, 0, sizeof(frame));
        if (lead > 0)
            lead -= FRAME_SAMPLES;
        else
            got = cid_tx_run(&tx, frame, FRAME_SAMPLES);
        total += got;
        if (got < FRAME_SAMPLES && lead <= 0)
            silent += FRAME_SAMPLES - got;
        for (int i = 0; i < FRAME_SAMPLES; i++)
        {
            int32_t v = frame[i] + (nz ? noise(nz) : 0);
            frame[i] = (int16_t) (v > 32767 ? 32767 : (v < -32768 ? -32768 : v));
            if (path->law == LAW_ALAW)
                frame[i] = alaw_to_linear(linear_to_alaw(frame[i]));
            else if (path->law == LAW_ULAW)
                frame[i] = ulaw_to_linear(linear_to_ulaw(frame[i]));
        }
        cid_rx_run(rx, frame, FRAME_SAMPLES);
    }
    if (nz)
        noise_free(nz);
    cid_tx_release(&tx);
    return total;
}

static void test_lifecycle(void)
{
    cid_tx_t *tx = cid_tx_init(NULL);
    cid_rx_t *rx = cid_rx_init(NULL);
    cid_tx_t txl;
    cid_rx_t rxl;
    int16_t buf[FRAME_SAMPLES];
    cid_info_t i = info("5551234", "", 0);

    REQUIRE(tx != NULL && rx != NULL, "allocation failed");
    CHECK(cid_tx_run(tx, buf, FRAME_SAMPLES) == 0, "an idle transmitter sent samples");
    /* An idle receiver ignores audio. */
    memset(buf, 0, sizeof(buf));
    cid_rx_run(rx, buf, FRAME_SAMPLES);
    CHECK(!rx->ready, "an idle receiver has a message");
    /* Starting again with another standard replaces the spandsp state. */
    CHECK(cid_tx_start(tx, CID_BELL202, &i, NULL) == 0, "Bell 202 start failed");
    CHECK(cid_tx_start(tx, CID_DTMF, &i, NULL) == 0 && tx->standard == CID_DTMF, "restart as DTMF failed");
    CHECK(cid_rx_start(rx, CID_V23) == 0 && cid_rx_start(rx, CID_DTMF) == 0, "receiver restart failed");
    CHECK(cid_tx_free(tx) == 0 && cid_rx_free(rx) == 0, "free failed");
    CHECK(cid_tx_free(NULL) == 0 && cid_rx_free(NULL) == 0, "free(NULL) failed");

    CHECK(cid_tx_init(&txl) == &txl && cid_rx_init(&rxl) == &rxl, "init on a caller's struct failed");
    cid_tx_start(&txl, CID_V23, &i, "01021230");
    cid_rx_start(&rxl, CID_V23);
    cid_tx_release(&txl);
    cid_rx_release(&rxl);
    CHECK(txl.adsi == NULL && rxl.adsi == NULL && !txl.active, "release left spandsp state behind");
    /* Released twice is harmless: channel_release may follow a failed start. */
    cid_tx_release(&txl);
    cid_rx_release(&rxl);
}

static void test_standards(void)
{
    CHECK(cid_standard_valid(CID_BELL202) && cid_standard_valid(CID_V23) && cid_standard_valid(CID_DTMF),
          "a supported standard is refused");
    CHECK(!cid_standard_valid(CID_NONE), "'none' is taken for a standard");
    CHECK(!cid_standard_valid(ADSI_STANDARD_ACLIP) && !cid_standard_valid(ADSI_STANDARD_JCLIP)
          && !cid_standard_valid(ADSI_STANDARD_TDD), "an unsupported spandsp standard is accepted");
    CHECK(!cid_standard_valid(-1) && !cid_standard_valid(99), "a made-up standard is accepted");
}

static void test_round_trip(void)
{
    static const struct
    {
        const char *number;
        const char *name;
    } calls[] =
    {
        {"5551234", "JOHN DOE"},
        {"0123456789", "Ivanova Maria"},
        {"380441234567", ""},
        {"74957654321", "A"},
        {"12345678901234567890123456789012", "abcdefghijklmnopqrstuvwxyz012345"},
        {"7", "O'Brien & Sons, Ltd."},
    };
    cid_rx_t rx;

    cid_rx_init(&rx);
    for (unsigned s = 0; s < sizeof(standards) / sizeof(standards[0]); s++)
    {
        int st = standards[s];

        for (unsigned k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
        {
            cid_info_t in = info(calls[k].number, calls[k].name, 0);
            int sent = round_trip(st, &in, (k & 1) ? "12312359" : NULL, &clean_path, &rx);

            CHECK(sent > 0, "%s: '%s' was not sent", std_name(st), in.number);
            CHECK(rx.ready, "%s: '%s' was not received", std_name(st), in.number);
            if (!rx.ready)
                continue;
            CHECK(strcmp(rx.info.number, in.number) == 0, "%s: number '%s' arrived as '%s'", std_name(st),
                  in.number, rx.info.number);
            /* DTMF caller ID carries the number only. */
            if (st == CID_DTMF)
                CHECK(rx.info.name[0] == '\0', "%s: a name '%s' arrived", std_name(st), rx.info.name);
            else
                CHECK(strcmp(rx.info.name, in.name) == 0, "%s: name '%s' arrived as '%s'", std_name(st), in.name,
                      rx.info.name);
            CHECK(rx.info.absence == 0, "%s: '%s' arrived marked absent (%c)", std_name(st), in.number,
                  rx.info.absence);
        }
    }
    cid_rx_release(&rx);
}

/* The message takes about as long as the notes measured, and not a great deal more. */
static void test_durations(void)
{
    static const int max_ms[] = {700, 600, 1400};
    cid_rx_t rx;
    cid_info_t in = info("5551234", "JOHN DOE", 0);

    cid_rx_init(&rx);
    for (unsigned s = 0; s < sizeof(standards) / sizeof(standards[0]); s++)
    {
        int sent = round_trip(standards[s], &in, NULL, &clean_path, &rx);

        CHECK(sent > (int) MS_TO_SAMPLES(100) && sent < (int) MS_TO_SAMPLES(max_ms[s]),
              "%s: the message took %d ms", std_name(standards[s]), sent / 8);
    }
    cid_rx_release(&rx);
}

/* Through both G.711 laws, with line noise, after some silence. */
static void test_over_a_line(void)
{
    static const path_t paths[] =
    {
        {LAW_ALAW, -99.0f, 0},
        {LAW_ULAW, -99.0f, 0},
        {LAW_ALAW, -40.0f, 200},
        {LAW_ULAW, -40.0f, 500},
    };
    cid_rx_t rx;
    cid_info_t in = info("4951234567", "Petrov", 0);

    cid_rx_init(&rx);
    for (unsigned p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
    {
        for (unsigned s = 0; s < sizeof(standards) / sizeof(standards[0]); s++)
        {
            int st = standards[s];

            round_trip(st, &in, NULL, &paths[p], &rx);
            CHECK(rx.ready && strcmp(rx.info.number, in.number) == 0, "%s, law %d, noise %.0f dBm0: number '%s'",
                  std_name(st), paths[p].law, paths[p].noise_dbm0, rx.ready ? rx.info.number : "(none)");
            if (st != CID_DTMF)
                CHECK(rx.ready && strcmp(rx.info.name, in.name) == 0, "%s, law %d: name '%s'", std_name(st),
                      paths[p].law, rx.ready ? rx.info.name : "(none)");
        }
    }
    cid_rx_release(&rx);
}

static void test_absence(void)
{
    static const char reasons[] = {'P', 'O'};
    cid_rx_t rx;

    cid_rx_init(&rx);
    for (unsigned s = 0; s < sizeof(standards) / sizeof(standards[0]); s++)
    {
        int st = standards[s];

        for (unsigned r = 0; r < sizeof(reasons); r++)
        {
            cid_info_t in = info("", "", reasons[r]);

            round_trip(st, &in, NULL, &clean_path, &rx);
            CHECK(rx.ready, "%s: absence '%c' was not received", std_name(st), reasons[r]);
            CHECK(rx.ready && rx.info.absence == reasons[r], "%s: absence '%c' arrived as '%c'", std_name(st),
                  reasons[r], rx.info.absence ? rx.info.absence : '0');
            CHECK(rx.info.number[0] == '\0', "%s: absence '%c' came with a number '%s'", std_name(st), reasons[r],
                  rx.info.number);
        }
        /* No number and no reason: the line says it is unavailable. */
        {
            cid_info_t in = info("", "", 0);
            round_trip(st, &in, NULL, &clean_path, &rx);
            CHECK(rx.ready && rx.info.absence == 'O', "%s: a missing number arrived as '%c'", std_name(st),
                  rx.info.absence ? rx.info.absence : '0');
        }
        /* A name with a withheld number (FSK carries both). */
        if (st != CID_DTMF)
        {
            cid_info_t in = info("", "Reception", 'P');
            round_trip(st, &in, NULL, &clean_path, &rx);
            CHECK(rx.ready && rx.info.absence == 'P' && strcmp(rx.info.name, "Reception") == 0,
                  "%s: a private number with a name arrived as '%c' '%s'", std_name(st),
                  rx.info.absence ? rx.info.absence : '0', rx.info.name);
        }
        /* A number present wins over a stray absence mark. */
        {
            cid_info_t in = info("5550000", "", 'P');
            round_trip(st, &in, NULL, &clean_path, &rx);
            CHECK(rx.ready && strcmp(rx.info.number, "5550000") == 0 && rx.info.absence == 0,
                  "%s: a number with an absence mark arrived as '%s' '%c'", std_name(st), rx.info.number,
                  rx.info.absence ? rx.info.absence : '0');
        }
    }
    cid_rx_release(&rx);
}

/* Bell 202 exchanges may send the single data message format. */
static void test_sdmf(void)
{
    static const char *const bodies[] = {"010212305551234", "12312359P", "06300815O"};
    static const char *const numbers[] = {"5551234", "", ""};
    static const char absences[] = {0, 'P', 'O'};
    cid_rx_t rx;

    cid_rx_init(&rx);
    for (int k = 0; k < 3; k++)
    {
        adsi_tx_state_t *tx = adsi_tx_init(NULL, ADSI_STANDARD_CLASS);
        uint8_t msg[64];
        int16_t frame[FRAME_SAMPLES];
        int len;
        int got;

        memset(msg, 0, sizeof(msg));
        len = adsi_add_field(tx, msg, -1, CLASS_SDMF_CALLERID, NULL, 0);
        len = adsi_add_field(tx, msg, len, 0, (const uint8_t *) bodies[k], (int) strlen(bodies[k]));
        adsi_tx_put_message(tx, msg, len);
        cid_rx_start(&rx, CID_BELL202);
        do
        {
            memset(frame, 0, sizeof(frame));
            got = adsi_tx(tx, frame, FRAME_SAMPLES);
            cid_rx_run(&rx, frame, FRAME_SAMPLES);
        }
        while (got == FRAME_SAMPLES);
        memset(frame, 0, sizeof(frame));
        cid_rx_run(&rx, frame, FRAME_SAMPLES);
        adsi_tx_free(tx);
        CHECK(rx.ready, "SDMF '%s' was not received", bodies[k]);
        CHECK(strcmp(rx.info.number, numbers[k]) == 0 && rx.info.absence == absences[k],
              "SDMF '%s' arrived as number '%s', absence '%c'", bodies[k], rx.info.number,
              rx.info.absence ? rx.info.absence : '0');
    }
    cid_rx_release(&rx);
}

static void test_rejects(void)
{
    static const char *const bad_numbers[] = {"555-1234", "555 1234", "5551234a", "A123", "12\x01", "+7 495"};
    cid_tx_t tx;
    cid_info_t in;
    char long_text[CID_MAX + 2];

    cid_tx_init(&tx);
    for (unsigned s = 0; s < sizeof(standards) / sizeof(standards[0]); s++)
    {
        int st = standards[s];

        for (unsigned k = 0; k < sizeof(bad_numbers) / sizeof(bad_numbers[0]); k++)
        {
            in = info(bad_numbers[k], "", 0);
            CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: number '%s' accepted", std_name(st), bad_numbers[k]);
            CHECK(cid_tx_start(&tx, st, &in, NULL) == ERR_ARG, "%s: sending '%s' accepted", std_name(st),
                  bad_numbers[k]);
        }
        /* A number with no terminating NUL in its field is too long. */
        memset(&in, 0, sizeof(in));
        memset(in.number, '1', sizeof(in.number));
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: an unterminated number accepted", std_name(st));
        memset(&in, 0, sizeof(in));
        memset(in.name, 'x', sizeof(in.name));
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: an unterminated name accepted", std_name(st));

        in = info("5551234", "Bad\tName", 0);
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: a name with a tab accepted", std_name(st));
        in = info("5551234", "Caf\xc3\xa9", 0);
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: an 8-bit name accepted", std_name(st));
        in = info("5551234", "Line\nBreak", 0);
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: a name with a newline accepted", std_name(st));
        in = info("", "", 'X');
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: absence 'X' accepted", std_name(st));
        CHECK(cid_tx_start(&tx, st, &in, NULL) == ERR_ARG, "%s: sending absence 'X' accepted", std_name(st));
        in = info("", "", 'p');
        CHECK(cid_info_check(st, &in) == ERR_ARG, "%s: absence 'p' accepted", std_name(st));

        memset(long_text, '9', sizeof(long_text));
        long_text[CID_MAX] = '\0';
        in = info(long_text, "", 0);
        CHECK(cid_info_check(st, &in) == 0, "%s: a %d-digit number refused", std_name(st), CID_MAX);
    }
    /* '+', '*' and '#' are for FSK only: DTMF caller ID uses '#' and '*' as markers. */
    in = info("+74951234567", "", 0);
    CHECK(cid_info_check(CID_V23, &in) == 0, "V.23: an international number refused");
    CHECK(cid_info_check(CID_DTMF, &in) == ERR_ARG, "DTMF: '+' accepted");
    in = info("*31#", "", 0);
    CHECK(cid_info_check(CID_DTMF, &in) == ERR_ARG, "DTMF: '*' and '#' accepted");
    in = info("5551234", "", 0);
    CHECK(cid_tx_start(&tx, CID_NONE, &in, NULL) == ERR_ARG, "standard 'none' accepted for sending");
    CHECK(cid_tx_start(&tx, ADSI_STANDARD_TDD, &in, NULL) == ERR_ARG, "TDD accepted for sending");
    CHECK(!tx.active, "a refused message left the transmitter active");
    cid_tx_release(&tx);

    {
        cid_rx_t rx;
        cid_rx_init(&rx);
        CHECK(cid_rx_start(&rx, CID_NONE) == ERR_ARG, "receiver accepted standard 'none'");
        CHECK(cid_rx_start(&rx, 42) == ERR_ARG, "receiver accepted standard 42");
        CHECK(rx.adsi == NULL, "a refused start left a receiver behind");
        cid_rx_release(&rx);
    }
}

/* Control characters and 8-bit bytes from the line never reach the caller's text. */
static void test_received_text_is_clean(void)
{
    adsi_tx_state_t *tx = adsi_tx_init(NULL, ADSI_STANDARD_CLIP);
    cid_rx_t rx;
    uint8_t msg[64];
    int16_t frame[FRAME_SAMPLES];
    int len;
    int got;

    memset(msg, 0, sizeof(msg));
    len = adsi_add_field(tx, msg, -1, CLIP_MDMF_CALLERID, NULL, 0);
    len = adsi_add_field(tx, msg, len, CLIP_CALLER_NUMBER, (const uint8_t *) "555\x07" "1234", 8);
    len = adsi_add_field(tx, msg, len, CLIP_CALLER_NAME, (const uint8_t *) "Ev\x1bil\xff", 6);
    adsi_tx_put_message(tx, msg, len);
    cid_rx_init(&rx);
    cid_rx_start(&rx, CID_V23);
    do
    {
        memset(frame, 0, sizeof(frame));
        got = adsi_tx(tx, frame, FRAME_SAMPLES);
        cid_rx_run(&rx, frame, FRAME_SAMPLES);
    }
    while (got == FRAME_SAMPLES);
    memset(frame, 0, sizeof(frame));
    cid_rx_run(&rx, frame, FRAME_SAMPLES);
    CHECK(rx.ready, "the message was not received");
    CHECK(strcmp(rx.info.number, "5551234") == 0, "number arrived as '%s'", rx.info.number);
    CHECK(strcmp(rx.info.name, "Evil") == 0, "name arrived as '%s'", rx.info.name);
    adsi_tx_free(tx);
    cid_rx_release(&rx);
}

/* DTMF caller ID as exchanges send it, played by spandsp's own DTMF generator. */
static void test_dtmf_formats(void)
{
    static const struct
    {
        const char *line;
        const char *number;
        char absence;
    } cases[] =
    {
        {"A5551234#", "5551234", 0},
        {"5551234#", "5551234", 0},
        {"A5551234C", "5551234", 0},
        {"D1#", "", 'P'},
        {"D3#", "", 'O'},
    };
    cid_rx_t rx;

    cid_rx_init(&rx);
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
    {
        dtmf_tx_state_t *tx = dtmf_tx_init(NULL);
        int16_t frame[FRAME_SAMPLES];
        int got;

        cid_rx_start(&rx, CID_DTMF);
        dtmf_tx_put(tx, cases[k].line, -1);
        do
        {
            memset(frame, 0, sizeof(frame));
            got = dtmf_tx(tx, frame, FRAME_SAMPLES);
            cid_rx_run(&rx, frame, FRAME_SAMPLES);
        }
        while (got == FRAME_SAMPLES);
        memset(frame, 0, sizeof(frame));
        for (int i = 0; i < 5; i++)
            cid_rx_run(&rx, frame, FRAME_SAMPLES);
        dtmf_tx_free(tx);
        CHECK(rx.ready, "DTMF '%s' was not received", cases[k].line);
        CHECK(strcmp(rx.info.number, cases[k].number) == 0 && rx.info.absence == cases[k].absence,
              "DTMF '%s' arrived as number '%s', absence '%c'", cases[k].line, rx.info.number,
              rx.info.absence ? rx.info.absence : '0');
    }
    cid_rx_release(&rx);
}

int main(void)
{
    CTEST_RUN(test_lifecycle);
    CTEST_RUN(test_standards);
    CTEST_RUN(test_round_trip);
    CTEST_RUN(test_durations);
    CTEST_RUN(test_over_a_line);
    CTEST_RUN(test_absence);
    CTEST_RUN(test_sdmf);
    CTEST_RUN(test_dtmf_formats);
    CTEST_RUN(test_rejects);
    CTEST_RUN(test_received_text_is_clean);
    return ctest_finish();
}
