/*
 * test_hookcmds.c - the hook command table (src/hookcmds.c) as data: the
 * real table passes its own check, names follow one rule, and the check
 * catches each kind of broken entry in small hand-made tables, naming the
 * command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "hookcmds.h"

TEST(real_table_passes)
{
    const char *why = hookcmds_check(hookcmds, hookcmds_count);
    if (why != NULL)
        fprintf(stderr, "  %s\n", why);
    CHECK(why == NULL);
    CHECK_EQ_INT(hookcmds_count, 37);
}

TEST(names_unique_and_derived)
{
    for (size_t i = 0; i < hookcmds_count; i++) {
        const struct hookcmd *c = &hookcmds[i];
        CHECK(c->name != NULL && c->cmd != NULL);
        if (c->name == NULL || c->cmd == NULL)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(hookcmds[j].name, c->name) == 0 || strcmp(hookcmds[j].cmd, c->cmd) == 0) {
                fprintf(stderr, "  duplicate: %s / %s\n", c->name, c->cmd);
                CHECK(!"unique names");
            }
        }
        char want[64];
        if (strcmp(c->name, "app_version_set") == 0) {
            CHECK_EQ_STR(c->cmd, "application-version-set");
            continue;
        }
        CHECK(strlen(c->cmd) < sizeof want);
        snprintf(want, sizeof want, "%s", c->cmd);
        for (char *p = want; *p; p++)
            if (*p == '-')
                *p = '_';
        CHECK_EQ_STR(c->name, want);
        CHECK(strchr(c->cmd, '_') == NULL);
    }
}

TEST(npos_and_params_fit)
{
    for (size_t i = 0; i < hookcmds_count; i++) {
        const struct hookcmd *c = &hookcmds[i];
        int np = hookcmd_nparams(c);
        CHECK(c->npos >= 0 && c->npos <= np);
        /* no gaps: nothing after the first unnamed parameter */
        for (int k = np; k < HOOKCMD_MAXPARAMS; k++)
            CHECK(c->params[k].name == NULL);
    }
}

/* The check's sentence for a one-entry table (with a good entry first, so
 * the check must get past it); it must name the broken command and say
 * what about. */
static const struct hookcmd good = {
    .name = "good_one", .cmd = "good-one", .npos = 1,
    .params = {{.name = "key", .type = T_STR}},
    .steps = {{.op = OP_LIT, .text = "--format=json"}, {.op = OP_POS, .p = 0}},
};

static void broken(const struct hookcmd *bad, const char *about)
{
    struct hookcmd table[2];
    table[0] = good;
    table[1] = *bad;
    CHECK(hookcmds_check(table, 1) == NULL);
    const char *why = hookcmds_check(table, 2);
    CHECK(why != NULL);
    if (why == NULL)
        return;
    if (strstr(why, bad->name) == NULL || strstr(why, about) == NULL || strstr(why, "good_one"))
        fprintf(stderr, "  %s: \"%s\" (want the name and \"%s\")\n", bad->name, why, about);
    CHECK(strstr(why, bad->name) != NULL);
    CHECK(strstr(why, about) != NULL);
    CHECK(strstr(why, "good_one") == NULL);
    /* on its own, too */
    why = hookcmds_check(bad, 1);
    CHECK(why != NULL && strstr(why, bad->name) != NULL);
}

TEST(index_out_of_range)
{
    static const struct hookcmd past_end = {
        .name = "past_end", .cmd = "past-end", .npos = 1,
        .params = {{.name = "key", .type = T_STR}},
        .steps = {{.op = OP_POS, .p = 1}},
    };
    broken(&past_end, "parameter 1 of 1");
    static const struct hookcmd negative = {
        .name = "negative", .cmd = "negative", .npos = 0,
        .params = {{.name = "key", .type = T_STR}},
        .steps = {{.op = OP_OPT, .text = "--key", .p = -1}},
    };
    broken(&negative, "parameter -1");
    static const struct hookcmd no_params = {
        .name = "no_params", .cmd = "no-params", .npos = 0,
        .steps = {{.op = OP_LIT, .text = "--format=json"}, {.op = OP_MSG, .p = 0}},
    };
    broken(&no_params, "step 2");
    /* the second parameter of a relation reference */
    static const struct hookcmd ref_p2 = {
        .name = "ref_p2", .cmd = "ref-p2", .npos = 1,
        .params = {{.name = "id", .type = T_ID}},
        .steps = {{.op = OP_REF, .p = 0, .p2 = 1}},
    };
    broken(&ref_p2, "parameter 1");
    /* a port spec reads p .. p+3 */
    static const struct hookcmd short_port = {
        .name = "short_port", .cmd = "short-port", .npos = 2,
        .params = {{.name = "protocol", .type = T_STR}, {.name = "port", .type = T_PORT},
                   {.name = "to_port", .type = T_PORT}},
        .steps = {{.op = OP_PORT, .p = 0}},
    };
    broken(&short_port, "parameter 3 of 3");
}

TEST(wrong_type)
{
    static const struct hookcmd flag_on_string = {
        .name = "flag_on_string", .cmd = "flag-on-string", .npos = 0,
        .params = {{.name = "app", .type = T_STR}},
        .steps = {{.op = OP_FLAG, .text = "--app", .p = 0}},
    };
    broken(&flag_on_string, "wrong type");
    static const struct hookcmd data_not_table = {
        .name = "data_not_table", .cmd = "data-not-table", .npos = 1,
        .params = {{.name = "data", .type = T_STR, .required = true}},
        .steps = {{.op = OP_LIT, .text = "--file"}, {.op = OP_DATA, .p = 0}},
    };
    broken(&data_not_table, "'data'");
    static const struct hookcmd ref_not_id = {
        .name = "ref_not_id", .cmd = "ref-not-id", .npos = 1,
        .params = {{.name = "id", .type = T_INT}, {.name = "endpoint", .type = T_STR}},
        .steps = {{.op = OP_REF, .p = 0, .p2 = 1}},
    };
    broken(&ref_not_id, "wrong type");
}

TEST(opt_def_without_default)
{
    static const struct hookcmd no_default = {
        .name = "no_default", .cmd = "no-default", .npos = 1,
        .params = {{.name = "message", .type = T_STR, .required = true},
                   {.name = "level", .type = T_STR}},
        .steps = {{.op = OP_OPT_DEF, .text = "--log-level", .p = 1}, {.op = OP_MSG, .p = 0}},
    };
    broken(&no_default, "no default");
}

TEST(no_room_for_op_end)
{
    struct hookcmd full = {
        .name = "full_steps", .cmd = "full-steps", .npos = 0,
    };
    for (int i = 0; i < HOOKCMD_MAXSTEPS; i++)
        full.steps[i] = (struct step){.op = OP_LIT, .text = "--x"};
    broken(&full, "OP_END");
    /* one fewer is fine */
    full.steps[HOOKCMD_MAXSTEPS - 1] = (struct step){.op = OP_END};
    CHECK(hookcmds_check(&full, 1) == NULL);
}

TEST(choices_on_non_string)
{
    static const char *const SIZES[] = {"1", "2", NULL};
    static const struct hookcmd int_choices = {
        .name = "int_choices", .cmd = "int-choices", .npos = 1,
        .params = {{.name = "size", .type = T_INT, .choices = SIZES}},
        .steps = {{.op = OP_POS, .p = 0}},
    };
    broken(&int_choices, "choices");
    /* choices on a string are what they are for */
    struct hookcmd fine = int_choices;
    fine.params[0].type = T_STR;
    CHECK(hookcmds_check(&fine, 1) == NULL);
}

TEST(other_rules)
{
    static const struct hookcmd npos_too_big = {
        .name = "npos_too_big", .cmd = "npos-too-big", .npos = 2,
        .params = {{.name = "key", .type = T_STR}},
        .steps = {{.op = OP_POS, .p = 0}},
    };
    broken(&npos_too_big, "npos 2");
    static const struct hookcmd no_text = {
        .name = "no_text", .cmd = "no-text", .npos = 0,
        .params = {{.name = "key", .type = T_STR}},
        .steps = {{.op = OP_OPT, .p = 0}},
    };
    broken(&no_text, "no text");
    CHECK(hookcmds_check(hookcmds, 0) == NULL);
}

int main(void)
{
    RUN(real_table_passes);
    RUN(names_unique_and_derived);
    RUN(npos_and_params_fit);
    RUN(index_out_of_range);
    RUN(wrong_type);
    RUN(opt_def_without_default);
    RUN(no_room_for_op_end);
    RUN(choices_on_non_string);
    RUN(other_rules);
    return ctest_summary();
}
