/* trace.c - hook tracing (see trace.h). */
#include "trace.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double trace_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "", "0" and NULL are off; "log" is on with the summary to juju-log. */
static void apply(struct trace *t, const char *v)
{
    if (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0)
        return;
    t->on = 1;
    t->to_log = strcmp(v, "log") == 0;
}

void trace_init(struct trace *t, const char *env_value, const char *charm_dir)
{
    memset(t, 0, sizeof *t);
    t->started = trace_now();
    apply(t, env_value);
    if (t->on || charm_dir == NULL || charm_dir[0] == '\0')
        return;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/.dispatch-trace", charm_dir);
    if (n < 0 || (size_t)n >= sizeof path || access(path, F_OK) != 0)
        return;
    char line[16] = "1";
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, " \t\r\n")] = '\0';
        if (line[0] == '\0')
            strcpy(line, "1");   /* an empty file: on */
    }
    apply(t, line);
}

/* Commands whose key=value arguments may carry secrets. */
static int redacts(const char *cmd)
{
    static const char *const names[] = {"secret-add", "secret-set", "relation-set", "state-set",
                                        "action-set", NULL};
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(cmd, names[i]) == 0)
            return 1;
    return 0;
}

/* Append s (n bytes) to buf at *len, keeping room for "..." and the NUL;
 * returns 0 when it did not all fit. */
static int put(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
    if (size < 4)
        return 0;
    size_t limit = size - 4;
    size_t room = *len < limit ? limit - *len : 0;
    size_t k = n < room ? n : room;
    memcpy(buf + *len, s, k);
    *len += k;
    buf[*len] = '\0';
    return k == n;
}

/* Does the argument need quotes to be read back as one word? */
static int needs_quotes(const char *a)
{
    if (a[0] == '\0')
        return 1;
    for (const char *p = a; *p != '\0'; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '"' || *p == '\'' || *p == '\\')
            return 1;
    return 0;
}

/* Append a in double quotes, with \" \\ and \n escaped. */
static int put_quoted(char *buf, size_t size, size_t *len, const char *a)
{
    if (!put(buf, size, len, "\"", 1))
        return 0;
    for (const char *p = a; *p != '\0'; p++) {
        int ok;
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', *p};
            ok = put(buf, size, len, esc, 2);
        } else if (*p == '\n') {
            ok = put(buf, size, len, "\\n", 2);
        } else {
            ok = put(buf, size, len, p, 1);
        }
        if (!ok)
            return 0;
    }
    return put(buf, size, len, "\"", 1);
}

size_t trace_format_argv(char *buf, size_t size, const char *const argv[])
{
    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (size < 4)
        return 0;
    size_t len = 0;
    int secret = argv[0] != NULL && redacts(argv[0]);
    for (int i = 0; argv[i] != NULL; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        int ok = (i == 0 || put(buf, size, &len, " ", 1));
        if (ok && secret && i > 0 && a[0] != '-' && eq != NULL && strchr(a, '#') == NULL) {
            ok = put(buf, size, &len, a, (size_t)(eq - a + 1)) &&
                 put(buf, size, &len, "<redacted>", 10);
        } else if (ok && needs_quotes(a)) {
            ok = put_quoted(buf, size, &len, a);
        } else if (ok) {
            ok = put(buf, size, &len, a, strlen(a));
        }
        if (!ok) {
            memcpy(buf + len, "...", 4);
            return len + 3;
        }
    }
    return len;
}

void trace_command(struct trace *t, FILE *out, const char *const argv[], const outcome *o,
                   double seconds)
{
    t->commands++;
    t->command_seconds += seconds;
    if (!t->on || out == NULL)
        return;
    char line[1024];
    trace_format_argv(line, sizeof line, argv);
    char how[64];
    switch (o->kind) {
    case OUTCOME_EXITED:
        snprintf(how, sizeof how, "exit %d", o->code);
        break;
    case OUTCOME_SIGNALED:
        snprintf(how, sizeof how, "killed by signal %d", o->code);
        break;
    case OUTCOME_NOT_STARTED:
        snprintf(how, sizeof how, "not started");
        break;
    case OUTCOME_LOST:
        snprintf(how, sizeof how, "lost");
        break;
    }
    fprintf(out, "dispatch[trace] %s: %s, %zu B out, %zu B err, %.2f ms\n", line, how, o->out.len,
            o->err.len, seconds * 1000.0);
    fflush(out);
}
