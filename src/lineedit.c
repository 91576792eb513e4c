/* lineedit.c - read lines with editing and history (see lineedit.h). */
#include "lineedit.h"
#include "fdio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct lineedit {
    int in, out;
    int tty;
    char **history;
    size_t nhistory, max_history;
};

/* The line being edited. */
struct edit {
    lineedit *le;
    const char *prompt;
    size_t prompt_cols;
    char *buf;
    size_t len, cap;
    size_t pos;          /* byte offset of the cursor */
    size_t hist;         /* which history line is shown: nhistory = the new one */
    char *scratch;       /* the new line, kept while browsing history */
};

lineedit *lineedit_new(int in_fd, int out_fd, size_t max_history)
{
    lineedit *le = calloc(1, sizeof *le);
    if (le == NULL)
        return NULL;
    le->in = in_fd;
    le->out = out_fd;
    le->tty = isatty(in_fd) && isatty(out_fd);
    le->max_history = max_history;
    return le;
}

void lineedit_free(lineedit *le)
{
    if (le == NULL)
        return;
    for (size_t i = 0; i < le->nhistory; i++)
        free(le->history[i]);
    free(le->history);
    free(le);
}

int lineedit_is_terminal(const lineedit *le)
{
    return le->tty;
}

void lineedit_add_history(lineedit *le, const char *line)
{
    if (le->max_history == 0 || line == NULL || line[0] == '\0')
        return;
    if (le->nhistory > 0 && strcmp(le->history[le->nhistory - 1], line) == 0)
        return;
    char *copy = strdup(line);
    if (copy == NULL)
        return;
    if (le->history == NULL) {
        le->history = calloc(le->max_history, sizeof *le->history);
        if (le->history == NULL) {
            free(copy);
            return;
        }
    }
    if (le->nhistory == le->max_history) {
        free(le->history[0]);
        memmove(le->history, le->history + 1, (le->max_history - 1) * sizeof *le->history);
        le->nhistory--;
    }
    le->history[le->nhistory++] = copy;
}

/* ------------------------------------------------------------ output */

/* A growable output buffer, written in one go so the line does not flicker. */
struct out {
    char data[4096];
    size_t len;
    int overflow;
};

static void out_put(struct out *o, const char *s, size_t n)
{
    if (n > sizeof o->data - o->len) {
        o->overflow = 1;
        n = sizeof o->data - o->len;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
}

static void out_str(struct out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static int is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Columns of n bytes of UTF-8 text: one per character. */
static size_t columns(const char *s, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_continuation((unsigned char)s[i]))
            cols++;
    return cols;
}

static size_t terminal_width(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Draw the prompt and the line, scrolled so the cursor is visible. */
static int refresh(struct edit *e)
{
    size_t width = terminal_width(e->le->out);
    size_t room = width > e->prompt_cols + 1 ? width - e->prompt_cols - 1 : 1;
    /* the first byte shown: move right until the cursor fits */
    size_t start = 0;
    while (columns(e->buf + start, e->pos - start) > room) {
        start++;
        while (start < e->pos && is_continuation((unsigned char)e->buf[start]))
            start++;
    }
    /* the last byte shown */
    size_t end = start, cols = 0;
    while (end < e->len && cols < room) {
        end++;
        while (end < e->len && is_continuation((unsigned char)e->buf[end]))
            end++;
        cols++;
    }
    struct out o = {.len = 0};
    out_str(&o, "\r");
    out_str(&o, e->prompt);
    out_put(&o, e->buf + start, end - start);
    out_str(&o, "\x1b[K\r");
    size_t at = e->prompt_cols + columns(e->buf + start, e->pos - start);
    if (at > 0) {
        char move[32];
        int n = snprintf(move, sizeof move, "\x1b[%zuC", at);
        out_put(&o, move, (size_t)n);
    }
    return fd_write_all(e->le->out, o.data, o.len);
}

/* ------------------------------------------------------------ editing */

static int ensure(struct edit *e, size_t more)
{
    if (e->len + more + 1 <= e->cap)
        return 0;
    size_t cap = e->cap ? e->cap : 64;
    while (cap < e->len + more + 1)
        cap *= 2;
    char *p = realloc(e->buf, cap);
    if (p == NULL)
        return -1;
    e->buf = p;
    e->cap = cap;
    return 0;
}

static int insert(struct edit *e, const char *s, size_t n)
{
    if (ensure(e, n) != 0)
        return -1;
    memmove(e->buf + e->pos + n, e->buf + e->pos, e->len - e->pos);
    memcpy(e->buf + e->pos, s, n);
    e->len += n;
    e->pos += n;
    e->buf[e->len] = '\0';
    return 0;
}

/* Remove bytes [from, to). */
static void cut(struct edit *e, size_t from, size_t to)
{
    memmove(e->buf + from, e->buf + to, e->len - to);
    e->len -= to - from;
    if (e->pos > to)
        e->pos -= to - from;
    else if (e->pos > from)
        e->pos = from;
    e->buf[e->len] = '\0';
}

static size_t char_before(const struct edit *e, size_t at)
{
    if (at == 0)
        return 0;
    at--;
    while (at > 0 && is_continuation((unsigned char)e->buf[at]))
        at--;
    return at;
}

static size_t char_after(const struct edit *e, size_t at)
{
    if (at >= e->len)
        return e->len;
    at++;
    while (at < e->len && is_continuation((unsigned char)e->buf[at]))
        at++;
    return at;
}

static int is_word(unsigned char c)
{
    return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static size_t word_before(const struct edit *e, size_t at)
{
    while (at > 0 && !is_word((unsigned char)e->buf[at - 1]))
        at--;
    while (at > 0 && is_word((unsigned char)e->buf[at - 1]))
        at--;
    return at;
}

static size_t word_after(const struct edit *e, size_t at)
{
    while (at < e->len && !is_word((unsigned char)e->buf[at]))
        at++;
    while (at < e->len && is_word((unsigned char)e->buf[at]))
        at++;
    return at;
}

/* Show history line h (nhistory: the line being written). */
static int show_history(struct edit *e, size_t h)
{
    lineedit *le = e->le;
    if (h > le->nhistory || h == e->hist)
        return 0;
    if (e->hist == le->nhistory) {
        free(e->scratch);
        e->scratch = strdup(e->buf ? e->buf : "");
        if (e->scratch == NULL)
            return -1;
    }
    const char *text = h == le->nhistory ? (e->scratch ? e->scratch : "") : le->history[h];
    size_t n = strlen(text);
    e->len = e->pos = 0;
    if (ensure(e, n) != 0)
        return -1;
    memcpy(e->buf, text, n);
    e->len = e->pos = n;
    e->buf[n] = '\0';
    e->hist = h;
    return 0;
}

/* ------------------------------------------------------------ input */

/* One byte, or -1 at end of input (0 bytes read) / error (errno set). */
static int read_byte(int fd, int *eof)
{
    unsigned char c;
    for (;;) {
        ssize_t r = read(fd, &c, 1);
        if (r == 1)
            return c;
        if (r == 0) {
            *eof = 1;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

enum key {
    K_NONE = 0, K_LEFT = 1000, K_RIGHT, K_UP, K_DOWN, K_HOME, K_END, K_DELETE,
    K_WORD_LEFT, K_WORD_RIGHT
};

/* After ESC: the key an escape sequence names (K_NONE for others). */
static int escape_key(int fd, int *eof)
{
    int c = read_byte(fd, eof);
    if (c < 0)
        return c;
    if (c == 'b')
        return K_WORD_LEFT;
    if (c == 'f')
        return K_WORD_RIGHT;
    if (c != '[' && c != 'O')
        return K_NONE;
    char params[16];
    size_t n = 0;
    int final;
    for (;;) {
        final = read_byte(fd, eof);
        if (final < 0)
            return final;
        if (final >= 0x40 && final <= 0x7E)
            break;
        if (n < sizeof params - 1)
            params[n++] = (char)final;
    }
    params[n] = '\0';
    int ctrl = strstr(params, ";5") != NULL;
    switch (final) {
    case 'A': return K_UP;
    case 'B': return K_DOWN;
    case 'C': return ctrl ? K_WORD_RIGHT : K_RIGHT;
    case 'D': return ctrl ? K_WORD_LEFT : K_LEFT;
    case 'H': return K_HOME;
    case 'F': return K_END;
    case '~':
        switch (atoi(params)) {
        case 1: case 7: return K_HOME;
        case 4: case 8: return K_END;
        case 3: return K_DELETE;
        default: return K_NONE;
        }
    default:
        return K_NONE;
    }
}

/* A line from a pipe or a file: up to '\n' or the end. */
static enum lineedit_result read_plain(lineedit *le, char **line)
{
    struct edit e = {.le = le};
    int eof = 0, any = 0;
    for (;;) {
        int c = read_byte(le->in, &eof);
        if (c < 0) {
            if (!eof) {
                free(e.buf);
                return LINEEDIT_ERROR;
            }
            break;
        }
        any = 1;
        if (c == '\n')
            break;
        char ch = (char)c;
        if (insert(&e, &ch, 1) != 0) {
            free(e.buf);
            errno = ENOMEM;
            return LINEEDIT_ERROR;
        }
    }
    if (!any) {
        free(e.buf);
        return LINEEDIT_EOF;
    }
    if (e.buf == NULL && (e.buf = calloc(1, 1)) == NULL)
        return LINEEDIT_ERROR;
    if (e.len > 0 && e.buf[e.len - 1] == '\r')
        e.buf[--e.len] = '\0';
    *line = e.buf;
    return LINEEDIT_LINE;
}

static enum lineedit_result edit_loop(struct edit *e, char **line)
{
    lineedit *le = e->le;
    int eof = 0;
    if (ensure(e, 0) != 0)
        return LINEEDIT_ERROR;
    e->buf[e->len] = '\0';
    if (refresh(e) != 0)
        return LINEEDIT_ERROR;
    for (;;) {
        int c = read_byte(le->in, &eof);
        if (c < 0)
            return eof ? (e->len == 0 ? LINEEDIT_EOF : LINEEDIT_LINE) : LINEEDIT_ERROR;
        if (c == 27) {
            c = escape_key(le->in, &eof);
            if (c < 0)
                return eof ? LINEEDIT_EOF : LINEEDIT_ERROR;
        }
        int rc = 0;
        switch (c) {
        case '\r':
        case '\n':
            *line = e->buf;
            e->buf = NULL;
            return LINEEDIT_LINE;
        case 3:   /* Ctrl-C */
            return LINEEDIT_INTERRUPTED;
        case 4:   /* Ctrl-D */
            if (e->len == 0)
                return LINEEDIT_EOF;
            /* fall through */
        case K_DELETE:
            if (e->pos < e->len)
                cut(e, e->pos, char_after(e, e->pos));
            break;
        case 127:
        case 8:   /* Backspace, Ctrl-H */
            cut(e, char_before(e, e->pos), e->pos);
            break;
        case 1:   /* Ctrl-A */
        case K_HOME:
            e->pos = 0;
            break;
        case 5:   /* Ctrl-E */
        case K_END:
            e->pos = e->len;
            break;
        case 2:   /* Ctrl-B */
        case K_LEFT:
            e->pos = char_before(e, e->pos);
            break;
        case 6:   /* Ctrl-F */
        case K_RIGHT:
            e->pos = char_after(e, e->pos);
            break;
        case K_WORD_LEFT:
            e->pos = word_before(e, e->pos);
            break;
        case K_WORD_RIGHT:
            e->pos = word_after(e, e->pos);
            break;
        case 11:  /* Ctrl-K */
            cut(e, e->pos, e->len);
            break;
        case 21:  /* Ctrl-U */
            cut(e, 0, e->pos);
            break;
        case 23:  /* Ctrl-W */
            cut(e, word_before(e, e->pos), e->pos);
            break;
        case 16:  /* Ctrl-P */
        case K_UP:
            if (e->hist > 0)
                rc = show_history(e, e->hist - 1);
            break;
        case 14:  /* Ctrl-N */
        case K_DOWN:
            rc = show_history(e, e->hist + 1);
            break;
        case 12:  /* Ctrl-L */
            rc = fd_write_all(le->out, "\x1b[H\x1b[2J", 7);
            break;
        default:
            if (c >= 32 && c < 256 && c != 127) {
                char ch = (char)c;
                rc = insert(e, &ch, 1);
            }
            break;
        }
        if (rc != 0 || refresh(e) != 0)
            return LINEEDIT_ERROR;
    }
}

enum lineedit_result lineedit_read(lineedit *le, const char *prompt, char **line)
{
    if (!le->tty)
        return read_plain(le, line);
    struct termios saved, raw;
    if (tcgetattr(le->in, &saved) != 0)
        return LINEEDIT_ERROR;
    raw = saved;
    raw.c_iflag &= ~(unsigned)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
    raw.c_oflag &= ~(unsigned)OPOST;
    raw.c_cflag |= CS8;
    raw.c_lflag &= ~(unsigned)(ECHO | ICANON | IEXTEN | ISIG);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(le->in, TCSADRAIN, &raw) != 0)
        return LINEEDIT_ERROR;

    struct edit e = {.le = le, .prompt = prompt ? prompt : ""};
    e.prompt_cols = columns(e.prompt, strlen(e.prompt));
    e.hist = le->nhistory;
    char *got = NULL;
    enum lineedit_result r = edit_loop(&e, &got);
    int saved_errno = errno;
    if (r == LINEEDIT_LINE && got == NULL) {
        /* the input ended after some text: the line as it stands */
        got = e.buf;
        e.buf = NULL;
    }
    free(e.buf);
    free(e.scratch);
    tcsetattr(le->in, TCSADRAIN, &saved);
    fd_write_all(le->out, r == LINEEDIT_INTERRUPTED ? "^C\r\n" : "\r\n", r == LINEEDIT_INTERRUPTED ? 4 : 2);
    if (r == LINEEDIT_LINE) {
        if (got == NULL && (got = calloc(1, 1)) == NULL)
            return LINEEDIT_ERROR;
        *line = got;
    } else {
        free(got);
    }
    errno = saved_errno;
    return r;
}
