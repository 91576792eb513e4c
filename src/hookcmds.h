/*
 * hookcmds.h - the 37 Juju hook commands as data: for each, its Lua name,
 * its parameters (positional first, then options) and the steps that turn
 * them into argv, exactly as ops.hookcmds builds it. juju.c walks this
 * table; nothing else knows a command by name. Pure C: no lua.h.
 */
#ifndef DISPATCH_HOOKCMDS_H
#define DISPATCH_HOOKCMDS_H

#include <stdbool.h>
#include <stddef.h>

enum ptype {
    T_STR,        /* string (with choices: one of them) */
    T_INT,        /* integer */
    T_PORT,       /* integer 1-65535 */
    T_ID,         /* relation id: integer >= 0, or "endpoint:N" text */
    T_BOOL,       /* boolean */
    T_EXPIRE,     /* epoch seconds (number), or an RFC 3339 time or Go duration */
    T_ENDPOINTS,  /* string, or a list of strings joined with "," */
    T_TABLE       /* a table, checked by the step that uses it */
};

struct param {
    const char *name;
    enum ptype type;
    bool required;
    const char *def;              /* ops's default, sent when not given (OP_OPT_DEF) */
    const char *const *choices;   /* T_STR: the values Juju takes (NULL-ended) */
    bool anycase;                 /* choices compare ignoring ASCII case */
};

enum op {
    OP_END = 0,
    OP_LIT,          /* text */
    OP_POS,          /* value of p, if given */
    OP_POS_NONEMPTY, /* value of p, if given and not "" (config-get) */
    OP_MSG,          /* "--", value of p, if given */
    OP_OPT,          /* text, value of p, if given */
    OP_OPT_DEF,      /* text, value of p or its default */
    OP_FLAG,         /* text, if p is true */
    OP_APP,          /* text .. "True"/"False" (lower: "true"/"false") from p */
    OP_REF,          /* "-r", relation id p (with endpoint p2: "endpoint:id") */
    OP_RELTAIL,      /* relation-get's KEY UNIT | - UNIT | KEY (key p, unit p2) */
    OP_PORT,         /* [--endpoints E] SPEC: protocol p, port p+1, to_port p+2,
                        endpoints p+3 */
    OP_RESULTS,      /* action-set k=v ... from table p */
    OP_COUNTS,       /* storage-add name=N ... from table p */
    OP_DATA,         /* stdin: JSON object of table p */
    OP_CONTENT       /* secret content of table p: key#file=PATH ... */
};

struct step {
    enum op op;
    const char *text;
    int p, p2;
    bool lower;
};

enum output {
    OUT_NONE = 0,   /* nothing is returned */
    OUT_JSON,       /* stdout is JSON, decoded (then shaped, if shape is set) */
    OUT_TEXT        /* stdout, stripped of surrounding white space */
};

#define HOOKCMD_MAXPARAMS 8
#define HOOKCMD_MAXSTEPS 10

struct hookcmd {
    const char *name;     /* Lua name: "relation_get" */
    const char *cmd;      /* hook command: "relation-get" */
    int npos;             /* how many params are positional */
    struct param params[HOOKCMD_MAXPARAMS];
    struct step steps[HOOKCMD_MAXSTEPS];
    enum output output;
    const char *shape;    /* shaper in marshal.lua, or NULL */
};

extern const struct hookcmd hookcmds[];
extern const size_t hookcmds_count;

/* How many parameters c has. */
int hookcmd_nparams(const struct hookcmd *c);

/* The table's own consistency: every step's parameter index in range and
 * of the type the step needs, defaults where OP_OPT_DEF needs them, an
 * OP_END within HOOKCMD_MAXSTEPS. NULL when it holds, else a sentence
 * (static) naming the command and the step. */
const char *hookcmds_check(const struct hookcmd *table, size_t n);

#endif
