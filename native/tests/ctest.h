/*
 * The assertion harness of the C unit tests: one test program per module.
 *
 * Rules:
 *  - CHECK(cond, fmt, ...) counts a pass or a failure; a failure prints file:line and
 *    the message, and the test goes on, so one run shows every broken case.
 *  - A program runs its cases with CTEST_RUN(case) and ends with
 *    `return ctest_finish();`, which prints "N passed, N failed" as its last line and
 *    gives a non-zero exit status when anything failed.
 *  - Everything counts samples; nothing here reads a clock.
 *  - What a library prints is caught with ctest_capture_start/_end, so a case can
 *    show that it printed nothing on the terminal a user would see.
 */
#ifndef APPLIANCE_CTEST_H
#define APPLIANCE_CTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int ctest_passed;
static int ctest_failed;

#define CHECK(cond, ...)                                                    \
    do                                                                      \
    {                                                                       \
        if (cond)                                                           \
        {                                                                   \
            ctest_passed++;                                                 \
        }                                                                   \
        else                                                                \
        {                                                                   \
            ctest_failed++;                                                 \
            printf("%s:%d: FAILED: ", __FILE__, __LINE__);                  \
            printf(__VA_ARGS__);                                            \
            printf("\n");                                                   \
        }                                                                   \
    }                                                                       \
    while (0)

/* A setup step that later checks depend on: on failure the case stops here. */
#define REQUIRE(cond, ...)                                                  \
    do                                                                      \
    {                                                                       \
        int ctest_ok_ = (cond) ? 1 : 0;                                     \
        CHECK(ctest_ok_, __VA_ARGS__);                                      \
        if (!ctest_ok_)                                                     \
            return;                                                         \
    }                                                                       \
    while (0)

static inline void ctest_run(const char *name, void (*fn)(void))
{
    int failed_before = ctest_failed;

    printf("-- %s\n", name);
    fflush(stdout);
    fn();
    if (ctest_failed > failed_before)
        printf("   %s: %d failure(s)\n", name, ctest_failed - failed_before);
    fflush(stdout);
}

#define CTEST_RUN(fn) ctest_run(#fn, fn)

typedef struct
{
    FILE *out;
    int saved[2];
} ctest_capture_t;

/* From here on stdout and stderr go to a temporary file instead of the terminal. */
static inline int ctest_capture_start(ctest_capture_t *c)
{
    fflush(stdout);
    fflush(stderr);
    if ((c->out = tmpfile()) == NULL)
        return -1;
    c->saved[0] = dup(1);
    c->saved[1] = dup(2);
    dup2(fileno(c->out), 1);
    dup2(fileno(c->out), 2);
    return 0;
}

/* Back to the terminal: how many bytes were printed meanwhile, the first of them in
   text (len bytes at most, with its terminating zero). */
static inline long ctest_capture_end(ctest_capture_t *c, char *text, size_t len)
{
    long said;

    fflush(stdout);
    fflush(stderr);
    dup2(c->saved[0], 1);
    dup2(c->saved[1], 2);
    close(c->saved[0]);
    close(c->saved[1]);
    said = ftell(c->out);
    if (len > 0)
    {
        text[0] = 0;
        if (said > 0)
        {
            rewind(c->out);
            text[fread(text, 1, len - 1, c->out)] = 0;
        }
    }
    fclose(c->out);
    return said;
}

static inline int ctest_finish(void)
{
    printf("%d passed, %d failed\n", ctest_passed, ctest_failed);
    fflush(stdout);
    return ctest_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
