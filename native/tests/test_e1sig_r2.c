/*
 * MFC/R2 signalling (e1sig_r2.c) where it can be tried without a DAHDI span: what it
 * accepts and refuses when a span is made, and that openr2 says nothing on the
 * terminal when it refuses a channel. openr2 1.3.3 drives the channel's CAS bits and
 * audio through DAHDI's ioctls itself and has no interface to put anything else in
 * their place, so calls over MFC/R2 are proved on a span with DAHDI (the test rig).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "ctest.h"
#include "common.h"
#include "e1sig.h"

static int events;

static void record(void *user, int bearer, const board_event_t *ev)
{
    (void) user;
    (void) bearer;
    (void) ev;
    events++;
}

static void test_a_channel_that_is_not_dahdi(void)
{
    int sv[2];
    int fds[2];
    const int channos[2] = { 1, 2 };
    char err[256] = "";
    e1sig_t *s;
    ctest_capture_t cap;
    char text[512];
    long said;

    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "no socket pair");
    fds[0] = sv[0];
    fds[1] = sv[1];
    REQUIRE(ctest_capture_start(&cap) == 0, "no temporary file");
    s = e1sig_r2_new(2, fds, channos, 10, 4, record, NULL, err, sizeof(err));
    said = ctest_capture_end(&cap, text, sizeof(text));
    CHECK(s == NULL, "a socket was taken for a DAHDI CAS channel");
    e1sig_free(s);
    CHECK(said == 0, "openr2 printed %ld bytes: %s", said, text);
    CHECK(strstr(err, "MFC/R2 bearer 0 (DAHDI channel 1") != NULL, "the error did not name the bearer: '%s'", err);
    CHECK(strstr(err, "channel number") != NULL, "the error did not give openr2's reason: '%s'", err);
    CHECK(events == 0, "a refused span made events");
    close(sv[0]);
    close(sv[1]);
}

static void test_bad_arguments(void)
{
    const int fds[2] = { 7, -1 };
    const int channos[2] = { 1, 2 };
    const int no_chan[2] = { 1, 0 };
    char err[256];

    CHECK(e1sig_r2_new(0, fds, channos, 10, 4, record, NULL, err, sizeof(err)) == NULL, "a span of no bearers");
    CHECK(strstr(err, "not 0") != NULL, "the error was '%s'", err);
    CHECK(e1sig_r2_new(31, fds, channos, 10, 4, record, NULL, err, sizeof(err)) == NULL, "31 bearers on an E1");
    CHECK(e1sig_r2_new(2, fds, channos, 10, 4, record, NULL, err, sizeof(err)) == NULL, "a bearer with no descriptor");
    CHECK(strstr(err, "bearer 1") != NULL, "the error was '%s'", err);
    CHECK(e1sig_r2_new(2, fds, no_chan, 10, 4, record, NULL, err, sizeof(err)) == NULL, "a bearer of channel 0");
    CHECK(e1sig_r2_new(1, fds, channos, 10, 0, record, NULL, err, sizeof(err)) == NULL, "no called digits");
    CHECK(strstr(err, "not 0") != NULL, "the error was '%s'", err);
    CHECK(e1sig_r2_new(1, fds, channos, 99, 4, record, NULL, err, sizeof(err)) == NULL, "99 calling digits");
    CHECK(e1sig_r2_new(1, fds, channos, 10, 4, record, NULL, NULL, 0) == NULL, "no error buffer");
    CHECK(events == 0, "refused spans made events");
    /* What a span that was never made answers. */
    CHECK(e1sig_hook(NULL, 0, HOOK_OFFHOOK) == ERR_ARG && e1sig_dial(NULL, 0, "1", "") == ERR_ARG,
          "commands to no span");
    CHECK(e1sig_audio(NULL, 0) == 0, "audio on no span");
}

int main(void)
{
    CTEST_RUN(test_a_channel_that_is_not_dahdi);
    CTEST_RUN(test_bad_arguments);
    return ctest_finish();
}
