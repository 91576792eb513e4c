/*
 * hookcmds.c - the table of hook commands (see hookcmds.h) and its check.
 *
 * Argument order and defaults are those of Canonical's ops.hookcmds; the
 * values Juju accepts are Juju 3.6's (its jujuc commands' flag checks).
 * src/juju.luadoc documents each command for charm authors.
 */
#include "hookcmds.h"

#include <stdio.h>

static const char *const LOG_LEVELS[] = {
    "TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", NULL};
static const char *const STATUSES[] = {"maintenance", "blocked", "waiting", "active", NULL};
static const char *const ROTATE_POLICIES[] = {
    "never", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly", NULL};
static const char *const OWNERS[] = {"application", "unit", NULL};
static const char *const PROTOCOLS[] = {"tcp", "udp", "icmp", NULL};

/* Parameters. */
#define HC_STR(n)          {.name = (n), .type = T_STR}
#define HC_STR_REQ(n)      {.name = (n), .type = T_STR, .required = true}
#define HC_CHOICE(n, c)    {.name = (n), .type = T_STR, .choices = (c)}
#define HC_INT(n)          {.name = (n), .type = T_INT}
#define HC_PORT(n)         {.name = (n), .type = T_PORT}
#define HC_ID(n)           {.name = (n), .type = T_ID}
#define HC_ID_REQ(n)       {.name = (n), .type = T_ID, .required = true}
#define HC_BOOL(n)         {.name = (n), .type = T_BOOL}
#define HC_TABLE(n)        {.name = (n), .type = T_TABLE, .required = true}
#define HC_TABLE_OPT(n)    {.name = (n), .type = T_TABLE}
#define HC_EXPIRE(n)       {.name = (n), .type = T_EXPIRE}
#define HC_ENDPOINTS(n)    {.name = (n), .type = T_ENDPOINTS}
/* Steps. */
#define HC_LIT(t)          {.op = OP_LIT, .text = (t)}
#define HC_JSON            HC_LIT("--format=json")
#define HC_POS(i)          {.op = OP_POS, .p = (i)}
#define HC_MSG(i)          {.op = OP_MSG, .p = (i)}
#define HC_OPT(t, i)       {.op = OP_OPT, .text = (t), .p = (i)}
#define HC_OPT_DEF(t, i)   {.op = OP_OPT_DEF, .text = (t), .p = (i)}
#define HC_FLAG(t, i)      {.op = OP_FLAG, .text = (t), .p = (i)}
#define HC_REF(i, e)       {.op = OP_REF, .p = (i), .p2 = (e)}
#define HC_STEP(o, i)      {.op = (o), .p = (i)}

const struct hookcmd hookcmds[] = {
    /* actions */
    {.name = "action_fail", .cmd = "action-fail", .npos = 1,
     .params = {HC_STR("message")},
     .steps = {HC_MSG(0)}},
    {.name = "action_get", .cmd = "action-get", .npos = 1,
     .params = {HC_STR("key")},
     .steps = {HC_JSON, HC_POS(0)},
     .output = OUT_JSON},
    {.name = "action_log", .cmd = "action-log", .npos = 1,
     .params = {HC_STR_REQ("message")},
     .steps = {HC_MSG(0)}},
    {.name = "action_set", .cmd = "action-set", .npos = 1,
     .params = {HC_TABLE("results")},
     .steps = {HC_STEP(OP_RESULTS, 0)}},
    {.name = "app_version_set", .cmd = "application-version-set", .npos = 1,
     .params = {HC_STR_REQ("version")},
     .steps = {HC_MSG(0)}},

    /* ports */
    {.name = "close_port", .cmd = "close-port", .npos = 2,
     .params = {{.name = "protocol", .type = T_STR, .choices = PROTOCOLS, .anycase = true},
                HC_PORT("port"), HC_PORT("to_port"), HC_ENDPOINTS("endpoints")},
     .steps = {HC_STEP(OP_PORT, 0)}},
    {.name = "open_port", .cmd = "open-port", .npos = 2,
     .params = {{.name = "protocol", .type = T_STR, .choices = PROTOCOLS, .anycase = true},
                HC_PORT("port"), HC_PORT("to_port"), HC_ENDPOINTS("endpoints")},
     .steps = {HC_STEP(OP_PORT, 0)}},
    {.name = "opened_ports", .cmd = "opened-ports", .npos = 0,
     .params = {HC_BOOL("endpoints")},
     .steps = {HC_FLAG("--endpoints", 0), HC_JSON},
     .output = OUT_JSON, .shape = "ports"},

    /* configuration, leadership, the unit */
    {.name = "config_get", .cmd = "config-get", .npos = 1,
     .params = {HC_STR("key")},
     .steps = {HC_JSON, {.op = OP_POS_NONEMPTY, .p = 0}},
     .output = OUT_JSON},
    {.name = "credential_get", .cmd = "credential-get", .npos = 0,
     .steps = {HC_JSON},
     .output = OUT_JSON, .shape = "cloud_spec"},
    {.name = "goal_state", .cmd = "goal-state", .npos = 0,
     .steps = {HC_JSON},
     .output = OUT_JSON, .shape = "goal_state"},
    {.name = "is_leader", .cmd = "is-leader", .npos = 0,
     .steps = {HC_JSON},
     .output = OUT_JSON, .shape = "is_leader"},
    {.name = "juju_log", .cmd = "juju-log", .npos = 1,
     .params = {HC_STR_REQ("message"),
                {.name = "level", .type = T_STR, .def = "INFO", .choices = LOG_LEVELS,
                 .anycase = true}},
     .steps = {HC_OPT_DEF("--log-level", 1), HC_MSG(0)}},
    {.name = "juju_reboot", .cmd = "juju-reboot", .npos = 0,
     .params = {HC_BOOL("now")},
     .steps = {HC_FLAG("--now", 0)}},
    {.name = "network_get", .cmd = "network-get", .npos = 1,
     .params = {HC_STR_REQ("binding_name"), HC_ID("relation_id")},
     .steps = {HC_JSON, HC_OPT("-r", 1), HC_POS(0)},
     .output = OUT_JSON, .shape = "network"},

    /* relations */
    {.name = "relation_get", .cmd = "relation-get", .npos = 1,
     .params = {HC_ID("id"), HC_STR("endpoint"), HC_STR("key"), HC_STR("unit"), HC_BOOL("app")},
     .steps = {HC_JSON, HC_REF(0, 1), HC_FLAG("--app", 4),
               {.op = OP_RELTAIL, .p = 2, .p2 = 3}},
     .output = OUT_JSON},
    {.name = "relation_ids", .cmd = "relation-ids", .npos = 1,
     .params = {HC_STR_REQ("name")},
     .steps = {HC_POS(0), HC_JSON},
     .output = OUT_JSON, .shape = "list"},
    {.name = "relation_list", .cmd = "relation-list", .npos = 1,
     .params = {HC_ID("id"), HC_STR("endpoint"), HC_BOOL("app")},
     .steps = {HC_JSON, HC_FLAG("--app", 2), HC_REF(0, 1)},
     .output = OUT_JSON},
    {.name = "relation_model_get", .cmd = "relation-model-get", .npos = 1,
     .params = {HC_ID("id"), HC_STR("endpoint")},
     .steps = {HC_JSON, HC_REF(0, 1)},
     .output = OUT_JSON, .shape = "relation_model"},
    {.name = "relation_set", .cmd = "relation-set", .npos = 2,
     .params = {HC_TABLE("data"), HC_ID("id"), HC_STR("endpoint"), HC_BOOL("app")},
     .steps = {HC_REF(1, 2), HC_FLAG("--app", 3), HC_LIT("--file"), HC_LIT("-"),
               HC_STEP(OP_DATA, 0)}},
    {.name = "resource_get", .cmd = "resource-get", .npos = 1,
     .params = {HC_STR_REQ("name")},
     .steps = {HC_POS(0)},
     .output = OUT_TEXT},

    /* secrets */
    {.name = "secret_add", .cmd = "secret-add", .npos = 1,
     .params = {HC_TABLE("content"), HC_STR("label"), HC_STR("description"),
                HC_EXPIRE("expire"), HC_CHOICE("rotate", ROTATE_POLICIES),
                {.name = "owner", .type = T_STR, .def = "application", .choices = OWNERS}},
     .steps = {HC_OPT("--label", 1), HC_OPT("--description", 2), HC_OPT("--expire", 3),
               HC_OPT("--rotate", 4), HC_OPT_DEF("--owner", 5), HC_STEP(OP_CONTENT, 0)},
     .output = OUT_TEXT},
    {.name = "secret_get", .cmd = "secret-get", .npos = 0,
     .params = {HC_STR("id"), HC_STR("label"), HC_BOOL("refresh"), HC_BOOL("peek")},
     .steps = {HC_JSON, HC_POS(0), HC_OPT("--label", 1), HC_FLAG("--refresh", 2),
               HC_FLAG("--peek", 3)},
     .output = OUT_JSON},
    {.name = "secret_grant", .cmd = "secret-grant", .npos = 2,
     .params = {HC_STR_REQ("id"), HC_ID_REQ("relation_id"), HC_STR("unit")},
     .steps = {HC_OPT("--relation", 1), HC_OPT("--unit", 2), HC_POS(0)}},
    {.name = "secret_ids", .cmd = "secret-ids", .npos = 0,
     .steps = {HC_JSON},
     .output = OUT_JSON, .shape = "list"},
    {.name = "secret_info_get", .cmd = "secret-info-get", .npos = 0,
     .params = {HC_STR("id"), HC_STR("label")},
     .steps = {HC_JSON, HC_POS(0), HC_OPT("--label", 1)},
     .output = OUT_JSON, .shape = "secret_info"},
    {.name = "secret_remove", .cmd = "secret-remove", .npos = 1,
     .params = {HC_STR_REQ("id"), HC_INT("revision")},
     .steps = {HC_POS(0), HC_OPT("--revision", 1)}},
    {.name = "secret_revoke", .cmd = "secret-revoke", .npos = 1,
     .params = {HC_STR_REQ("id"), HC_ID("relation_id"), HC_STR("app"), HC_STR("unit")},
     .steps = {HC_OPT("--relation", 1), HC_OPT("--app", 2), HC_OPT("--unit", 3), HC_POS(0)}},
    {.name = "secret_set", .cmd = "secret-set", .npos = 1,
     .params = {HC_STR_REQ("id"), HC_TABLE_OPT("content"), HC_STR("label"),
                HC_STR("description"), HC_EXPIRE("expire"),
                HC_CHOICE("rotate", ROTATE_POLICIES),
                {.name = "owner", .type = T_STR, .def = "application", .choices = OWNERS}},
     .steps = {HC_OPT("--label", 2), HC_OPT("--description", 3), HC_OPT("--expire", 4),
               HC_OPT("--rotate", 5), HC_OPT_DEF("--owner", 6), HC_POS(0),
               HC_STEP(OP_CONTENT, 1)}},

    /* state and status */
    {.name = "state_delete", .cmd = "state-delete", .npos = 1,
     .params = {HC_STR_REQ("key")},
     .steps = {HC_POS(0)}},
    {.name = "state_get", .cmd = "state-get", .npos = 1,
     .params = {HC_STR("key")},
     .steps = {HC_JSON, HC_POS(0)},
     .output = OUT_JSON, .shape = "state"},
    {.name = "state_set", .cmd = "state-set", .npos = 1,
     .params = {HC_TABLE("data")},
     .steps = {HC_LIT("--file"), HC_LIT("-"), HC_STEP(OP_DATA, 0)}},
    {.name = "status_get", .cmd = "status-get", .npos = 0,
     .params = {HC_BOOL("app")},
     .steps = {HC_LIT("--include-data"), HC_JSON,
               {.op = OP_APP, .text = "--application=", .p = 0, .lower = true}},
     .output = OUT_JSON, .shape = "status"},
    {.name = "status_set", .cmd = "status-set", .npos = 2,
     .params = {{.name = "status", .type = T_STR, .required = true, .choices = STATUSES},
                HC_STR("message"), HC_BOOL("app")},
     .steps = {{.op = OP_APP, .text = "--application=", .p = 2}, HC_POS(0), HC_MSG(1)}},

    /* storage */
    {.name = "storage_add", .cmd = "storage-add", .npos = 1,
     .params = {HC_TABLE("counts")},
     .steps = {HC_STEP(OP_COUNTS, 0)}},
    {.name = "storage_get", .cmd = "storage-get", .npos = 1,
     .params = {HC_STR("id")},
     .steps = {HC_JSON, HC_OPT("-s", 0)},
     .output = OUT_JSON, .shape = "storage"},
    {.name = "storage_list", .cmd = "storage-list", .npos = 1,
     .params = {HC_STR("name")},
     .steps = {HC_JSON, HC_POS(0)},
     .output = OUT_JSON, .shape = "list"},
};

#undef HC_STR
#undef HC_STR_REQ
#undef HC_CHOICE
#undef HC_INT
#undef HC_PORT
#undef HC_ID
#undef HC_ID_REQ
#undef HC_BOOL
#undef HC_TABLE
#undef HC_TABLE_OPT
#undef HC_EXPIRE
#undef HC_ENDPOINTS
#undef HC_LIT
#undef HC_JSON
#undef HC_POS
#undef HC_MSG
#undef HC_OPT
#undef HC_OPT_DEF
#undef HC_FLAG
#undef HC_REF
#undef HC_STEP

const size_t hookcmds_count = sizeof hookcmds / sizeof hookcmds[0];

int hookcmd_nparams(const struct hookcmd *c)
{
    int n = 0;
    while (n < HOOKCMD_MAXPARAMS && c->params[n].name != NULL)
        n++;
    return n;
}

/* Which parameters a step reads, and the type each must have
 * (-1: any). */
struct uses {
    int n;          /* how many of p, p2, p+1.. */
    int p[4];
    int type[4];
};

static struct uses step_uses(const struct step *s)
{
    struct uses u = {0, {0}, {-1, -1, -1, -1}};
    switch (s->op) {
    case OP_END:
    case OP_LIT:
        break;
    case OP_POS:
    case OP_POS_NONEMPTY:
    case OP_MSG:
    case OP_OPT:
    case OP_OPT_DEF:
        u = (struct uses){1, {s->p}, {-1, -1, -1, -1}};
        break;
    case OP_FLAG:
    case OP_APP:
        u = (struct uses){1, {s->p}, {T_BOOL, -1, -1, -1}};
        break;
    case OP_REF:
        u = (struct uses){2, {s->p, s->p2}, {T_ID, T_STR, -1, -1}};
        break;
    case OP_RELTAIL:
        u = (struct uses){2, {s->p, s->p2}, {T_STR, T_STR, -1, -1}};
        break;
    case OP_PORT:
        u = (struct uses){4, {s->p, s->p + 1, s->p + 2, s->p + 3},
                          {T_STR, T_PORT, T_PORT, T_ENDPOINTS}};
        break;
    case OP_RESULTS:
    case OP_COUNTS:
    case OP_DATA:
    case OP_CONTENT:
        u = (struct uses){1, {s->p}, {T_TABLE, -1, -1, -1}};
        break;
    }
    return u;
}

const char *hookcmds_check(const struct hookcmd *table, size_t n)
{
    static char why[256];
    for (size_t i = 0; i < n; i++) {
        const struct hookcmd *c = &table[i];
        int np = hookcmd_nparams(c);
        if (c->npos < 0 || c->npos > np) {
            snprintf(why, sizeof why, "%s: npos %d with %d parameters", c->name, c->npos, np);
            return why;
        }
        if (c->steps[HOOKCMD_MAXSTEPS - 1].op != OP_END) {
            snprintf(why, sizeof why, "%s: no room for the closing OP_END", c->name);
            return why;
        }
        for (int k = 0; k < np; k++) {
            if (c->params[k].choices != NULL && c->params[k].type != T_STR) {
                snprintf(why, sizeof why, "%s: choices on non-string '%s'", c->name,
                         c->params[k].name);
                return why;
            }
        }
        for (int j = 0; j < HOOKCMD_MAXSTEPS && c->steps[j].op != OP_END; j++) {
            const struct step *s = &c->steps[j];
            struct uses u = step_uses(s);
            for (int k = 0; k < u.n; k++) {
                if (u.p[k] < 0 || u.p[k] >= np) {
                    snprintf(why, sizeof why, "%s: step %d uses parameter %d of %d", c->name,
                             j + 1, u.p[k], np);
                    return why;
                }
                if (u.type[k] >= 0 && (int)c->params[u.p[k]].type != u.type[k]) {
                    snprintf(why, sizeof why, "%s: step %d: parameter '%s' has the wrong type",
                             c->name, j + 1, c->params[u.p[k]].name);
                    return why;
                }
            }
            if ((s->op == OP_LIT || s->op == OP_OPT || s->op == OP_OPT_DEF ||
                 s->op == OP_FLAG || s->op == OP_APP) && s->text == NULL) {
                snprintf(why, sizeof why, "%s: step %d has no text", c->name, j + 1);
                return why;
            }
            if (s->op == OP_OPT_DEF && c->params[s->p].def == NULL) {
                snprintf(why, sizeof why, "%s: step %d: '%s' has no default", c->name, j + 1,
                         c->params[s->p].name);
                return why;
            }
        }
    }
    return NULL;
}
