/*
 * test_trace.c - hook tracing: when it is on, how an argv is written
 * (quoted, redacted, cut), what a command's line says, and the counts.
 */
#include <stdio.h>
#include <string.h>

#include "ctest.h"
#include "testutil.h"
#include "trace.h"

TEST(off_unless_asked)
{
    struct trace t;
    const char *offs[] = {NULL, "", "0"};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        trace_init(&t, offs[i], NULL);
        CHECK_EQ_INT(t.on, 0);
        CHECK(t.started > 0);
    }
    trace_init(&t, "1", NULL);
    CHECK_EQ_INT(t.on, 1);
    CHECK_EQ_INT(t.to_log, 0);
    trace_init(&t, "log", NULL);
    CHECK_EQ_INT(t.on, 1);
    CHECK_EQ_INT(t.to_log, 1);
    trace_init(&t, "logs", NULL);   /* on, but not "log" */
    CHECK_EQ_INT(t.on, 1);
    CHECK_EQ_INT(t.to_log, 0);
}

TEST(the_file_in_the_charm_directory_turns_it_on)
{
    char dir[PATH_MAX], path[PATH_MAX];
    CHECK(make_tmpdir(dir, sizeof dir, "test_trace") == 0);
    struct trace t;
    trace_init(&t, NULL, dir);
    CHECK_EQ_INT(t.on, 0);
    pathf(path, "%s/.dispatch-trace", dir);
    CHECK(write_file(path, "", 0, 0644) == 0);
    trace_init(&t, NULL, dir);
    CHECK_EQ_INT(t.on, 1);
    CHECK_EQ_INT(t.to_log, 0);
    CHECK(write_file(path, "log\n", 4, 0644) == 0);
    trace_init(&t, NULL, dir);
    CHECK_EQ_INT(t.to_log, 1);
    CHECK(write_file(path, "0\n", 2, 0644) == 0);
    trace_init(&t, NULL, dir);
    CHECK_EQ_INT(t.on, 0);
    /* the environment wins over the file */
    CHECK(write_file(path, "log\n", 4, 0644) == 0);
    trace_init(&t, "1", dir);
    CHECK_EQ_INT(t.on, 1);
    CHECK_EQ_INT(t.to_log, 0);
    remove_tree(dir);
}

static const char *fmt(const char *const argv[], size_t size)
{
    static char buf[4096];
    size_t n = trace_format_argv(buf, size, argv);
    if (n != strlen(buf))
        return "(length mismatch)";
    return buf;
}

TEST(argv_quoted_where_needed)
{
    const char *a[] = {"status-set", "maintenance", "--", "installing nginx", NULL};
    CHECK_EQ_STR(fmt(a, 4096), "status-set maintenance -- \"installing nginx\"");
    const char *b[] = {"juju-log", "", "say \"hi\"\\now", "two\nlines", NULL};
    CHECK_EQ_STR(fmt(b, 4096), "juju-log \"\" \"say \\\"hi\\\"\\\\now\" \"two\\nlines\"");
}

TEST(values_that_may_be_secret_are_redacted)
{
    const char *sec[] = {"secret-set", "secret:abc", "password=hunter2", "token#file=/tmp/x/token",
                         "--label", "admin", NULL};
    CHECK_EQ_STR(fmt(sec, 4096),
                 "secret-set secret:abc password=<redacted> token#file=/tmp/x/token --label admin");
    const char *act[] = {"action-set", "user.password=s3cret", "count=2", NULL};
    CHECK_EQ_STR(fmt(act, 4096), "action-set user.password=<redacted> count=<redacted>");
    const char *rel[] = {"relation-set", "-r", "db:3", "pw=x y", NULL};
    CHECK_EQ_STR(fmt(rel, 4096), "relation-set -r db:3 pw=<redacted>");
    const char *add[] = {"secret-add", "--owner=unit", "k=v", NULL};
    CHECK_EQ_STR(fmt(add, 4096), "secret-add --owner=unit k=<redacted>");
    /* other commands keep their key=value words */
    const char *cfg[] = {"status-set", "a=b", NULL};
    CHECK_EQ_STR(fmt(cfg, 4096), "status-set a=b");
}

TEST(a_long_argv_is_cut_with_dots)
{
    const char *a[] = {"juju-log", "0123456789", "abcdefghij", NULL};
    CHECK_EQ_STR(fmt(a, 16), "juju-log 012...");
    CHECK_EQ_STR(fmt(a, 4), "...");
    char tiny[3] = "zz";
    CHECK_EQ_INT(trace_format_argv(tiny, sizeof tiny, a), 0);
    CHECK_EQ_STR(tiny, "");
    CHECK_EQ_INT(trace_format_argv(tiny, 0, a), 0);
    const char *q[] = {"juju-log", "a b c d e f g", NULL};
    CHECK_EQ_STR(fmt(q, 16), "juju-log \"a ...");
}

TEST(a_command_line_and_the_counts)
{
    struct trace t;
    trace_init(&t, "1", NULL);
    outcome o;
    memset(&o, 0, sizeof o);
    o.kind = OUTCOME_EXITED;
    o.code = 1;
    CHECK(bytebuf_append(&o.out, "abc", 3) == 0);
    CHECK(bytebuf_append(&o.err, "ERROR no\n", 9) == 0);
    const char *argv[] = {"config-get", "--format=json", NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    trace_command(&t, f, argv, &o, 0.00125);
    o.kind = OUTCOME_SIGNALED;
    o.code = 9;
    trace_command(&t, f, argv, &o, 0.001);
    o.kind = OUTCOME_NOT_STARTED;
    trace_command(&t, f, argv, &o, 0);
    fclose(f);
    CHECK_EQ_STR(text,
                 "dispatch[trace] config-get --format=json: exit 1, 3 B out, 9 B err, 1.25 ms\n"
                 "dispatch[trace] config-get --format=json: killed by signal 9, 3 B out, 9 B err, 1.00 ms\n"
                 "dispatch[trace] config-get --format=json: not started, 3 B out, 9 B err, 0.00 ms\n");
    free(text);
    CHECK_EQ_INT(t.commands, 3);
    CHECK(t.command_seconds > 0.00224 && t.command_seconds < 0.00226);

    /* off: counted, nothing written */
    trace_init(&t, NULL, NULL);
    text = NULL;
    f = open_memstream(&text, &len);
    trace_command(&t, f, argv, &o, 0.5);
    fclose(f);
    CHECK_EQ_INT(len, 0);
    free(text);
    CHECK_EQ_INT(t.commands, 1);
    outcome_free(&o);
}

int main(void)
{
    RUN(off_unless_asked);
    RUN(the_file_in_the_charm_directory_turns_it_on);
    RUN(argv_quoted_where_needed);
    RUN(values_that_may_be_secret_are_redacted);
    RUN(a_long_argv_is_cut_with_dots);
    RUN(a_command_line_and_the_counts);
    return ctest_summary();
}
