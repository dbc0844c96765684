/* A minimal check harness for the unit tests: one line per check, a closing
 * "N passed, M failed" line, and a non-zero exit when anything failed. */
#ifndef TV_TEST_CHECK_H
#define TV_TEST_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

static void check_at(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        check_passed++;
        printf("ok   %s\n", what);
    } else {
        check_failed++;
        printf("FAIL %s (%s:%d)\n", what, file, line);
    }
}

#define CHECK(cond) check_at((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
/* The same with a name of the caller's choosing in place of the condition's text. */
#define CHECK_AS(cond, name) check_at((cond) ? 1 : 0, (name), __FILE__, __LINE__)

static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
