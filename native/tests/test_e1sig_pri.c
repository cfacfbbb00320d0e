/*
 * ISDN PRI signalling (e1sig_pri.c) end to end: two spans, the network side and the
 * user side, joined by a socket pair standing in for the D-channel (a datagram per HDLC
 * frame, as DAHDI's HDLC-with-FCS mode hands them over), each run in turn as the
 * engine's tick would. Calls go both ways through libpri itself.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <libpri.h>

#include "ctest.h"
#include "common.h"
#include "e1sig.h"

#define MAX_EVENTS 64
/* Ticks within which a message and its answer cross the D-channel. */
#define SETTLE 50

struct side
{
    e1sig_t *s;
    int n;
    int bearer[MAX_EVENTS];
    board_event_t ev[MAX_EVENTS];
};

struct span
{
    int fd[2];      /* [0] the network's end, [1] the user's */
    struct side net;
    struct side cpe;
};

static void record(void *user, int bearer, const board_event_t *ev)
{
    struct side *side = user;

    if (side->n < MAX_EVENTS)
    {
        side->bearer[side->n] = bearer;
        side->ev[side->n] = *ev;
        side->n++;
    }
}

static void forget(struct side *side)
{
    side->n = 0;
}

/* The index of the first event of this type on this bearer, or -1. */
static int find(const struct side *side, int bearer, int type)
{
    for (int i = 0; i < side->n; i++)
    {
        if (side->bearer[i] == bearer && side->ev[i].type == type)
            return i;
    }
    return -1;
}

static int count(const struct side *side, int type)
{
    int n = 0;

    for (int i = 0; i < side->n; i++)
        n += side->ev[i].type == type;
    return n;
}

static void settle(struct span *sp)
{
    for (int i = 0; i < SETTLE; i++)
    {
        if (sp->net.s != NULL)
            e1sig_run(sp->net.s);
        if (sp->cpe.s != NULL)
            e1sig_run(sp->cpe.s);
    }
}

static int open_dchannel(int fd[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fd) < 0)
        return -1;
    /* libpri wants a descriptor that never blocks. */
    fcntl(fd[0], F_SETFL, fcntl(fd[0], F_GETFL) | O_NONBLOCK);
    fcntl(fd[1], F_SETFL, fcntl(fd[1], F_GETFL) | O_NONBLOCK);
    return 0;
}

/* A span up and running: the network with timeslots net_ts, the user with cpe_ts. */
static int span_open(struct span *sp, int nnet, const int *net_ts, int ncpe, const int *cpe_ts)
{
    char err[256];

    memset(sp, 0, sizeof(*sp));
    if (open_dchannel(sp->fd) < 0)
        return -1;
    sp->net.s = e1sig_pri_new(sp->fd[0], 1, nnet, net_ts, record, &sp->net, err, sizeof(err));
    sp->cpe.s = e1sig_pri_new(sp->fd[1], 0, ncpe, cpe_ts, record, &sp->cpe, err, sizeof(err));
    if (sp->net.s == NULL || sp->cpe.s == NULL)
        return -1;
    settle(sp);
    /* Both ends saw the D-channel come up; the tests start from no events. */
    if (count(&sp->net, BEV_NOALARM) != nnet || count(&sp->cpe, BEV_NOALARM) != ncpe)
        return -1;
    forget(&sp->net);
    forget(&sp->cpe);
    return 0;
}

static void span_close(struct span *sp)
{
    e1sig_free(sp->net.s);
    e1sig_free(sp->cpe.s);
    if (sp->fd[0] >= 0)
        close(sp->fd[0]);
    if (sp->fd[1] >= 0)
        close(sp->fd[1]);
}

static const int NET_TS[3] = { 1, 17, 5 };
static const int CPE_TS[2] = { 17, 1 };
/* Network bearer 0 and user bearer 1 are timeslot 1; network 1 and user 0 are 17;
   network 2 (timeslot 5) has no bearer on the user side. */
#define NET_TS1 0
#define NET_TS17 1
#define NET_TS5 2
#define CPE_TS17 0
#define CPE_TS1 1

/* The caller ID text the board gets for a number and an absence code. */
static const char *cid(const char *number, char absence)
{
    static char text[BOARD_TEXT_MAX];

    snprintf(text, sizeof(text), "%s\x1f\x1f%c", number, absence);
    return text;
}

static void test_dchannel_comes_up(void)
{
    struct span sp;
    char err[256];

    memset(&sp, 0, sizeof(sp));
    REQUIRE(open_dchannel(sp.fd) == 0, "no socket pair");
    sp.net.s = e1sig_pri_new(sp.fd[0], 1, 3, NET_TS, record, &sp.net, err, sizeof(err));
    sp.cpe.s = e1sig_pri_new(sp.fd[1], 0, 2, CPE_TS, record, &sp.cpe, err, sizeof(err));
    REQUIRE(sp.net.s != NULL && sp.cpe.s != NULL, "the spans were not made: %s", err);
    CHECK(sp.net.n == 0 && sp.cpe.n == 0, "events before the first run");
    CHECK(e1sig_dial(sp.net.s, NET_TS1, "201", "0441234567") == ERR_STATE,
          "a call was placed before the D-channel was up");
    CHECK(strstr(e1sig_error(sp.net.s), "D-channel is down") != NULL, "the error was '%s'", e1sig_error(sp.net.s));
    settle(&sp);
    /* Out of service from the start, in service once layer 2 is established. */
    for (int b = 0; b < 3; b++)
    {
        int a = find(&sp.net, b, BEV_ALARM);
        int na = find(&sp.net, b, BEV_NOALARM);

        CHECK(a >= 0 && na > a, "network bearer %d: alarm at %d, cleared at %d", b, a, na);
    }
    for (int b = 0; b < 2; b++)
    {
        int a = find(&sp.cpe, b, BEV_ALARM);
        int na = find(&sp.cpe, b, BEV_NOALARM);

        CHECK(a >= 0 && na > a, "user bearer %d: alarm at %d, cleared at %d", b, a, na);
    }
    CHECK(sp.net.n == 6 && sp.cpe.n == 4, "%d and %d events where 6 and 4 were due", sp.net.n, sp.cpe.n);
    span_close(&sp);
}

/* A call from the network on timeslot 17 reaches the user's bearer for that timeslot
   with the numbers, in the board's order: caller ID, dialled number, ringing. */
static void offer_call(struct span *sp, int net_b, int cpe_b, const char *calling)
{
    int c;
    int d;
    int r;

    CHECK(e1sig_dial(sp->net.s, net_b, "201", calling) == 0, "dial: %s", e1sig_error(sp->net.s));
    settle(sp);
    c = find(&sp->cpe, cpe_b, BEV_CALLERID);
    d = find(&sp->cpe, cpe_b, BEV_CALLED);
    r = find(&sp->cpe, cpe_b, BEV_RING_BEGIN);
    CHECK(c >= 0 && d == c + 1 && r == d + 1, "user bearer %d: caller ID %d, called %d, ring %d", cpe_b, c, d, r);
    if (c >= 0)
        CHECK(strcmp(sp->cpe.ev[c].text, cid(calling, calling[0] ? ' ' : 'O')) == 0,
              "caller ID text '%s'", sp->cpe.ev[c].text);
    if (d >= 0)
        CHECK(strcmp(sp->cpe.ev[d].text, "201") == 0, "called number '%s'", sp->cpe.ev[d].text);
    CHECK(sp->cpe.n == 3, "%d events on the user side where 3 were due", sp->cpe.n);
    CHECK(sp->net.n == 0, "%d events on the network side while the call rang", sp->net.n);
    forget(&sp->cpe);
}

static void answer_call(struct span *sp, int net_b, int cpe_b)
{
    CHECK(e1sig_hook(sp->cpe.s, cpe_b, HOOK_OFFHOOK) == 0, "answer: %s", e1sig_error(sp->cpe.s));
    settle(sp);
    CHECK(find(&sp->net, net_b, BEV_ANSWERED) == 0 && sp->net.n == 1, "the caller did not see the answer "
          "alone (%d events)", sp->net.n);
    CHECK(sp->cpe.n == 0, "%d events on the user side at the answer", sp->cpe.n);
    forget(&sp->net);
}

static void test_call_from_the_network(void)
{
    struct span sp;

    REQUIRE(span_open(&sp, 3, NET_TS, 2, CPE_TS) == 0, "the span did not come up");
    CHECK(e1sig_audio(sp.cpe.s, CPE_TS17) == 1, "a PRI bearer's audio is always the board's");

    /* Answered, and cleared by the user. */
    offer_call(&sp, NET_TS17, CPE_TS17, "0441234567");
    answer_call(&sp, NET_TS17, CPE_TS17);
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS17, HOOK_ONHOOK) == 0, "hang up: %s", e1sig_error(sp.cpe.s));
    settle(&sp);
    CHECK(find(&sp.net, NET_TS17, BEV_LOOP_LOST) == 0 && sp.net.n == 1, "the caller did not see the clearing");
    CHECK(sp.cpe.n == 0, "%d events on the side that hung up", sp.cpe.n);
    CHECK(e1sig_hook(sp.net.s, NET_TS17, HOOK_ONHOOK) == 0, "caller on-hook: %s", e1sig_error(sp.net.s));
    forget(&sp.net);

    /* A second call on the same bearers, cleared by the caller this time. */
    offer_call(&sp, NET_TS17, CPE_TS17, "0441234567");
    answer_call(&sp, NET_TS17, CPE_TS17);
    CHECK(e1sig_hook(sp.net.s, NET_TS17, HOOK_ONHOOK) == 0, "caller hang up: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.cpe, CPE_TS17, BEV_LOOP_LOST) == 0 && sp.cpe.n == 1, "the answering side did not see the "
          "clearing");
    CHECK(sp.net.n == 0, "%d events on the side that hung up", sp.net.n);
    forget(&sp.cpe);

    /* Held after the far end cleared, until this side hangs up: a call meanwhile is
       refused as busy, and the caller hears why. */
    CHECK(e1sig_dial(sp.net.s, NET_TS17, "201", "0441234567") == 0, "dial: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.net, NET_TS17, BEV_CLEARED) == 0 && sp.net.ev[0].a == PRI_CAUSE_REQUESTED_CHAN_UNAVAIL,
          "a call to a bearer not yet on-hook was not refused as busy (%d events, cause %d)", sp.net.n,
          sp.net.n ? sp.net.ev[0].a : -1);
    CHECK(sp.cpe.n == 0, "the busy bearer's board heard of the call");
    CHECK(e1sig_hook(sp.net.s, NET_TS17, HOOK_ONHOOK) == 0, "on-hook after a failed call");
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS17, HOOK_ONHOOK) == 0, "on-hook after the far end cleared");
    forget(&sp.net);

    /* On-hook again, the bearer takes calls; one the caller abandons while it rings
       leaves it idle with no on-hook. */
    offer_call(&sp, NET_TS17, CPE_TS17, "");
    CHECK(e1sig_hook(sp.net.s, NET_TS17, HOOK_ONHOOK) == 0, "abandon: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.cpe, CPE_TS17, BEV_LOOP_LOST) == 0 && sp.cpe.n == 1, "an abandoned call did not stop ringing");
    forget(&sp.cpe);
    offer_call(&sp, NET_TS17, CPE_TS17, "0441234567");
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS17, HOOK_ONHOOK) == 0, "refuse: %s", e1sig_error(sp.cpe.s));
    settle(&sp);
    CHECK(find(&sp.net, NET_TS17, BEV_CLEARED) == 0 && sp.net.ev[0].a == PRI_CAUSE_NORMAL_CLEARING,
          "a refused call did not fail with normal clearing");
    span_close(&sp);
}

static void test_call_from_the_user(void)
{
    struct span sp;
    int c;

    REQUIRE(span_open(&sp, 3, NET_TS, 2, CPE_TS) == 0, "the span did not come up");
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS1, HOOK_OFFHOOK) == 0, "take the bearer: %s", e1sig_error(sp.cpe.s));
    CHECK(e1sig_dial(sp.cpe.s, CPE_TS1, "0441234567", "201") == 0, "dial: %s", e1sig_error(sp.cpe.s));
    CHECK(e1sig_dial(sp.cpe.s, CPE_TS1, "0441234567", "201") == ERR_STATE, "a second call on a busy bearer");
    CHECK(strstr(e1sig_error(sp.cpe.s), "bearer 1 (timeslot 1)") != NULL, "the error was '%s'",
          e1sig_error(sp.cpe.s));
    settle(&sp);
    c = find(&sp.net, NET_TS1, BEV_CALLERID);
    CHECK(c == 0 && strcmp(sp.net.ev[c < 0 ? 0 : c].text, cid("201", ' ')) == 0, "the network got no caller ID");
    CHECK(find(&sp.net, NET_TS1, BEV_CALLED) == 1 && strcmp(sp.net.ev[1].text, "0441234567") == 0,
          "the network got no called number");
    CHECK(find(&sp.net, NET_TS1, BEV_RING_BEGIN) == 2, "the network's bearer did not ring");
    forget(&sp.net);
    CHECK(e1sig_hook(sp.net.s, NET_TS1, HOOK_OFFHOOK) == 0, "answer: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.cpe, CPE_TS1, BEV_ANSWERED) == 0 && sp.cpe.n == 1, "the user did not see the answer");
    forget(&sp.cpe);
    CHECK(e1sig_hook(sp.net.s, NET_TS1, HOOK_ONHOOK) == 0, "hang up: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.cpe, CPE_TS1, BEV_LOOP_LOST) == 0 && sp.cpe.n == 1, "the user did not see the clearing");
    span_close(&sp);
}

static void test_both_bearers_at_once(void)
{
    struct span sp;

    REQUIRE(span_open(&sp, 3, NET_TS, 2, CPE_TS) == 0, "the span did not come up");
    CHECK(e1sig_dial(sp.net.s, NET_TS1, "201", "0441234567") == 0, "dial 1: %s", e1sig_error(sp.net.s));
    CHECK(e1sig_dial(sp.net.s, NET_TS17, "202", "0447654321") == 0, "dial 17: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.cpe, CPE_TS1, BEV_RING_BEGIN) >= 0 && find(&sp.cpe, CPE_TS17, BEV_RING_BEGIN) >= 0,
          "both bearers did not ring");
    {
        int c1 = find(&sp.cpe, CPE_TS1, BEV_CALLED);
        int c17 = find(&sp.cpe, CPE_TS17, BEV_CALLED);
        int i1 = find(&sp.cpe, CPE_TS1, BEV_CALLERID);

        CHECK(c1 >= 0 && strcmp(sp.cpe.ev[c1].text, "201") == 0, "timeslot 1 got the other call's number");
        CHECK(c17 >= 0 && strcmp(sp.cpe.ev[c17].text, "202") == 0, "timeslot 17 got the other call's number");
        CHECK(i1 >= 0 && strcmp(sp.cpe.ev[i1].text, cid("0441234567", ' ')) == 0, "timeslot 1's caller ID");
    }
    CHECK(sp.cpe.n == 6, "%d events where 6 were due", sp.cpe.n);
    forget(&sp.cpe);
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS17, HOOK_OFFHOOK) == 0 && e1sig_hook(sp.cpe.s, CPE_TS1, HOOK_OFFHOOK) == 0,
          "answer both");
    settle(&sp);
    CHECK(find(&sp.net, NET_TS1, BEV_ANSWERED) >= 0 && find(&sp.net, NET_TS17, BEV_ANSWERED) >= 0 && sp.net.n == 2,
          "both calls were not answered");
    forget(&sp.net);
    /* One cleared from each side; each clearing reaches only its own bearer. */
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS1, HOOK_ONHOOK) == 0 && e1sig_hook(sp.net.s, NET_TS17, HOOK_ONHOOK) == 0,
          "hang up");
    settle(&sp);
    CHECK(find(&sp.net, NET_TS1, BEV_LOOP_LOST) == 0 && sp.net.n == 1, "the network's timeslot 1 call");
    CHECK(find(&sp.cpe, CPE_TS17, BEV_LOOP_LOST) == 0 && sp.cpe.n == 1, "the user's timeslot 17 call");
    span_close(&sp);
}

static void test_call_to_a_missing_or_busy_timeslot(void)
{
    struct span sp;

    REQUIRE(span_open(&sp, 3, NET_TS, 2, CPE_TS) == 0, "the span did not come up");
    /* Timeslot 5 is no bearer of the user's. */
    CHECK(e1sig_dial(sp.net.s, NET_TS5, "201", "0441234567") == 0, "dial: %s", e1sig_error(sp.net.s));
    settle(&sp);
    CHECK(find(&sp.net, NET_TS5, BEV_CLEARED) == 0 && sp.net.n == 1, "the call did not fail alone");
    CHECK(sp.net.n == 1 && sp.net.ev[0].a == PRI_CAUSE_IDENTIFIED_CHANNEL_NOTEXIST, "cause %d, not 82",
          sp.net.n ? sp.net.ev[0].a : -1);
    CHECK(sp.cpe.n == 0, "the user's board heard of a call on no bearer of its own");
    CHECK(strstr(e1sig_error(sp.cpe.s), "timeslot 5") != NULL, "the user's error was '%s'", e1sig_error(sp.cpe.s));
    CHECK(e1sig_hook(sp.net.s, NET_TS5, HOOK_ONHOOK) == 0, "on-hook");
    forget(&sp.net);

    /* Both ends seize timeslot 1 at once: each refuses the other's call as busy. */
    CHECK(e1sig_dial(sp.net.s, NET_TS1, "201", "0441234567") == 0, "network dial: %s", e1sig_error(sp.net.s));
    CHECK(e1sig_dial(sp.cpe.s, CPE_TS1, "0441234567", "201") == 0, "user dial: %s", e1sig_error(sp.cpe.s));
    settle(&sp);
    CHECK(find(&sp.net, NET_TS1, BEV_CLEARED) == 0 && sp.net.n == 1 &&
          sp.net.ev[0].a == PRI_CAUSE_REQUESTED_CHAN_UNAVAIL, "the network's call was not refused as busy");
    CHECK(find(&sp.cpe, CPE_TS1, BEV_CLEARED) == 0 && sp.cpe.n == 1 &&
          sp.cpe.ev[0].a == PRI_CAUSE_REQUESTED_CHAN_UNAVAIL, "the user's call was not refused as busy");
    span_close(&sp);
}

/* The network side played by libpri alone, to send what dial() does not: a calling
   number the caller withheld. */
static struct pri *bare_network;

static int bare_read(struct pri *pri, void *buf, int len)
{
    ssize_t n = read(*(int *) pri_get_userdata(pri), buf, (size_t) len);

    return n < 0 ? 0 : (int) n;
}

static int bare_write(struct pri *pri, void *buf, int len)
{
    unsigned char frame[1024];
    ssize_t n;

    if (len < 2 || len > (int) sizeof(frame))
        return 0;
    memcpy(frame, buf, (size_t) len - 2);
    frame[len - 2] = frame[len - 1] = 0;
    n = write(*(int *) pri_get_userdata(pri), frame, (size_t) len);
    return n < 0 ? 0 : (int) n;
}

static int bare_run(struct pri *pri, int fd, e1sig_t *cpe, int want)
{
    int got = 0;

    for (int i = 0; i < SETTLE; i++)
    {
        pri_event *e;
        char c;

        e1sig_run(cpe);
        while (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0 && (e = pri_check_event(pri)) != NULL)
        {
            if (e->e == want || (want == PRI_EVENT_HANGUP && e->e == PRI_EVENT_HANGUP_REQ))
                got = 1;
            if (e->e == PRI_EVENT_HANGUP || e->e == PRI_EVENT_HANGUP_REQ)
                pri_hangup(pri, e->hangup.call, e->hangup.cause);
        }
    }
    return got;
}

static void test_withheld_calling_number(void)
{
    static int fd[2];
    struct side cpe;
    char err[256];
    char caller[] = "0441234567";
    char called[] = "201";
    struct pri_sr *sr;
    q931_call *call;
    int c;

    memset(&cpe, 0, sizeof(cpe));
    REQUIRE(open_dchannel(fd) == 0, "no socket pair");
    cpe.s = e1sig_pri_new(fd[1], 0, 2, CPE_TS, record, &cpe, err, sizeof(err));
    REQUIRE(cpe.s != NULL, "no span: %s", err);
    bare_network = pri_new_cb(fd[0], PRI_NETWORK, PRI_SWITCH_EUROISDN_E1, bare_read, bare_write, &fd[0]);
    REQUIRE(bare_network != NULL, "libpri did not start");
    REQUIRE(bare_run(bare_network, fd[0], cpe.s, PRI_EVENT_DCHAN_UP), "the D-channel did not come up");
    forget(&cpe);

    call = pri_new_call(bare_network);
    sr = pri_sr_new();
    REQUIRE(call != NULL && sr != NULL, "no call");
    pri_sr_set_channel(sr, 1, 1, 0);
    pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
    pri_sr_set_called(sr, called, PRI_UNKNOWN, 1);
    pri_sr_set_caller(sr, caller, NULL, PRI_UNKNOWN, PRI_PRES_RESTRICTED | PRI_PRES_USER_NUMBER_PASSED_SCREEN);
    CHECK(pri_setup(bare_network, call, sr) == 0, "no SETUP");
    pri_sr_free(sr);
    bare_run(bare_network, fd[0], cpe.s, 0);
    c = find(&cpe, CPE_TS1, BEV_CALLERID);
    CHECK(c >= 0 && strcmp(cpe.ev[c].text, cid("", 'P')) == 0, "a withheld number gave caller ID '%s'",
          c >= 0 ? cpe.ev[c].text : "(none)");
    CHECK(find(&cpe, CPE_TS1, BEV_RING_BEGIN) >= 0, "the withheld call did not ring");
    forget(&cpe);
    CHECK(e1sig_hook(cpe.s, CPE_TS1, HOOK_ONHOOK) == 0, "refuse");
    CHECK(bare_run(bare_network, fd[0], cpe.s, PRI_EVENT_HANGUP), "the network did not hear the refusal");
    e1sig_free(cpe.s);
    close(fd[0]);
    close(fd[1]);
}

static void test_dchannel_lost(void)
{
    struct span sp;
    ctest_capture_t cap;
    char text[512];
    long said;

    REQUIRE(span_open(&sp, 3, NET_TS, 2, CPE_TS) == 0, "the span did not come up");
    offer_call(&sp, NET_TS17, CPE_TS17, "0441234567");
    answer_call(&sp, NET_TS17, CPE_TS17);

    /* Neither side prints a word through all this, libpri's complaints included. */
    REQUIRE(ctest_capture_start(&cap) == 0, "no temporary file");

    /* The network's end of the D-channel goes away mid-call, with no clearing sent. */
    close(sp.fd[0]);
    sp.fd[0] = -1;
    e1sig_free(sp.net.s);
    sp.net.s = NULL;
    settle(&sp);
    CHECK(find(&sp.cpe, CPE_TS17, BEV_ALARM) >= 0 && find(&sp.cpe, CPE_TS1, BEV_ALARM) >= 0 && sp.cpe.n == 2,
          "the user's bearers were not put in alarm (%d events)", sp.cpe.n);
    CHECK(e1sig_dial(sp.cpe.s, CPE_TS1, "201", "") == ERR_STATE, "a call was placed with no D-channel");
    CHECK(strstr(e1sig_error(sp.cpe.s), "D-channel is down") != NULL, "the error was '%s'", e1sig_error(sp.cpe.s));
    CHECK(e1sig_hook(sp.cpe.s, CPE_TS17, HOOK_ONHOOK) == 0, "on-hook with no D-channel");
    settle(&sp);

    said = ctest_capture_end(&cap, text, sizeof(text));
    CHECK(said == 0, "%ld bytes were printed: %s", said, text);
    span_close(&sp);
}

static void test_bad_arguments(void)
{
    struct span sp;
    char err[256];
    const int sixteen[2] = { 1, 16 };
    const int twice[2] = { 3, 3 };

    CHECK(e1sig_pri_new(5, 1, 2, sixteen, record, NULL, err, sizeof(err)) == NULL, "timeslot 16 as a bearer");
    CHECK(strstr(err, "bearer 1: timeslot 16") != NULL, "the error was '%s'", err);
    CHECK(e1sig_pri_new(5, 1, 2, twice, record, NULL, err, sizeof(err)) == NULL, "one timeslot twice");
    CHECK(strstr(err, "timeslot 3") != NULL, "the error was '%s'", err);
    CHECK(e1sig_pri_new(5, 1, 0, twice, record, NULL, err, sizeof(err)) == NULL, "no bearers");
    CHECK(e1sig_pri_new(-1, 1, 2, CPE_TS, record, NULL, err, sizeof(err)) == NULL, "no D-channel");

    REQUIRE(span_open(&sp, 3, NET_TS, 2, CPE_TS) == 0, "the span did not come up");
    CHECK(e1sig_hook(sp.cpe.s, 2, HOOK_OFFHOOK) == ERR_CHANNEL, "bearer 2 of 2");
    CHECK(strstr(e1sig_error(sp.cpe.s), "no bearer 2") != NULL, "the error was '%s'", e1sig_error(sp.cpe.s));
    CHECK(e1sig_hook(sp.cpe.s, 0, HOOK_FLASH) == ERR_ARG, "a hook flash on a PRI bearer");
    CHECK(e1sig_dial(sp.cpe.s, 0, "20A", "") == ERR_ARG, "a called number with a letter");
    CHECK(e1sig_dial(sp.cpe.s, 0, "", "") == ERR_ARG, "no called number");
    CHECK(e1sig_dial(sp.cpe.s, 0, "201", "+44") == ERR_ARG, "a calling number with a plus");
    CHECK(e1sig_audio(sp.cpe.s, 7) == 0, "audio on no bearer");
    settle(&sp);
    CHECK(sp.net.n == 0 && sp.cpe.n == 0, "refused commands made events");
    span_close(&sp);
}

int main(void)
{
    /* A closed D-channel socket must fail a write, not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    CTEST_RUN(test_dchannel_comes_up);
    CTEST_RUN(test_call_from_the_network);
    CTEST_RUN(test_call_from_the_user);
    CTEST_RUN(test_both_bearers_at_once);
    CTEST_RUN(test_call_to_a_missing_or_busy_timeslot);
    CTEST_RUN(test_withheld_calling_number);
    CTEST_RUN(test_dchannel_lost);
    CTEST_RUN(test_bad_arguments);
    return ctest_finish();
}
