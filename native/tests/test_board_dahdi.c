/*
 * The dahdi board where no DAHDI is needed: every event DAHDI can send, as each kind of
 * channel takes it, and a board asked for on a machine, or a device folder, with no
 * DAHDI. The channels themselves are tested on real DAHDI under qemu (tests/rig).
 */
#include <string.h>
#include <dahdi/user.h>

#include "ctest.h"
#include "common.h"
#include "board_dahdi.h"

static int as(int kind, int dahdi_event, board_event_t *ev)
{
    return board_dahdi_translate(kind, dahdi_event, ev);
}

static void test_station_side(void)
{
    board_event_t ev;
    const int kinds[] = {KIND_FXO, KIND_PHONE};

    for (int i = 0; i < 2; i++)
    {
        int k = kinds[i];
        CHECK(as(k, DAHDI_EVENT_RINGBEGIN, &ev) == 1 && ev.type == BEV_RING_BEGIN, "kind %d: ring begin", k);
        /* A station's RINGOFFHOOK is a ring burst that has ended. */
        CHECK(as(k, DAHDI_EVENT_RINGOFFHOOK, &ev) == 1 && ev.type == BEV_RING_END, "kind %d: ring end", k);
        CHECK(as(k, DAHDI_EVENT_ONHOOK, &ev) == 1 && ev.type == BEV_LOOP_LOST, "kind %d: loop break", k);
        CHECK(as(k, DAHDI_EVENT_POLARITY, &ev) == 1 && ev.type == BEV_POLARITY, "kind %d: polarity", k);
        CHECK(as(k, DAHDI_EVENT_WINKFLASH, &ev) == 0, "kind %d: a wink is nothing to a loop-start station", k);
    }
}

static void test_exchange_side(void)
{
    board_event_t ev;
    const int kinds[] = {KIND_FXS, KIND_CO};

    for (int i = 0; i < 2; i++)
    {
        int k = kinds[i];
        CHECK(as(k, DAHDI_EVENT_RINGOFFHOOK, &ev) == 1 && ev.type == BEV_OFFHOOK, "kind %d: off-hook", k);
        CHECK(as(k, DAHDI_EVENT_ONHOOK, &ev) == 1 && ev.type == BEV_ONHOOK, "kind %d: on-hook", k);
        CHECK(as(k, DAHDI_EVENT_WINKFLASH, &ev) == 1 && ev.type == BEV_FLASH, "kind %d: flash", k);
        CHECK(as(k, DAHDI_EVENT_RINGBEGIN, &ev) == 0, "kind %d: no ring reaches the ringing side", k);
    }
}

static void test_either_side(void)
{
    board_event_t ev;
    const int kinds[] = {KIND_FXO, KIND_FXS, KIND_CO, KIND_PHONE};

    for (int i = 0; i < 4; i++)
    {
        int k = kinds[i];
        CHECK(as(k, DAHDI_EVENT_ALARM, &ev) == 1 && ev.type == BEV_ALARM, "kind %d: alarm", k);
        CHECK(as(k, DAHDI_EVENT_NOALARM, &ev) == 1 && ev.type == BEV_NOALARM, "kind %d: alarm cleared", k);
        /* Carried out or informative: consumed by the board. */
        CHECK(as(k, DAHDI_EVENT_HOOKCOMPLETE, &ev) == 0, "kind %d: hook complete", k);
        CHECK(as(k, DAHDI_EVENT_RINGERON, &ev) == 0, "kind %d: ringer on", k);
        CHECK(as(k, DAHDI_EVENT_RINGEROFF, &ev) == 0, "kind %d: ringer off", k);
        CHECK(as(k, DAHDI_EVENT_DIALCOMPLETE, &ev) == 0, "kind %d: dial complete", k);
        CHECK(as(k, DAHDI_EVENT_BITSCHANGED, &ev) == 0, "kind %d: bits changed", k);
        CHECK(as(k, DAHDI_EVENT_NONE, &ev) == 0, "kind %d: no event", k);
        CHECK(as(k, DAHDI_EVENT_PULSEDIGIT | '5', &ev) == 0, "kind %d: a rotary digit", k);
        /* A card's own DTMF detector: the digit in the low bits. */
        CHECK(as(k, DAHDI_EVENT_DTMFDOWN | '7', &ev) == 1 && ev.type == BEV_DTMF_DOWN && ev.text[0] == '7',
              "kind %d: DTMF down", k);
        CHECK(as(k, DAHDI_EVENT_DTMFUP | '#', &ev) == 1 && ev.type == BEV_DTMF_UP && ev.text[0] == '#',
              "kind %d: DTMF up", k);
    }
}

static void test_no_dahdi(void)
{
    char err[256];
    dahdi_chan_spec_t spec = {.channo = 1, .kind = KIND_FXO};

    err[0] = '\0';
    CHECK(board_dahdi_new("/nonexistent/dahdi", &spec, 1, err, sizeof(err)) == NULL, "no DAHDI, no board");
    CHECK(strstr(err, "/nonexistent/dahdi/ctl") != NULL && strstr(err, "modules") != NULL,
          "the reason names the device and what to do: %s", err);
    err[0] = '\0';
    CHECK(board_dahdi_new("/dev/dahdi", &spec, 0, err, sizeof(err)) == NULL && strstr(err, "at least one"),
          "no channels: %s", err);
}

int main(void)
{
    CTEST_RUN(test_station_side);
    CTEST_RUN(test_exchange_side);
    CTEST_RUN(test_either_side);
    CTEST_RUN(test_no_dahdi);
    return ctest_finish();
}
