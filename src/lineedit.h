/*
 * lineedit.h - read lines from a person at a terminal, with editing and
 * history; plain lines when the input is not a terminal.
 *
 * For `dispatch -i`. No readline (GPL) and no libedit (its static build
 * reaches for getpwnam): a small editor of our own, with the keys people
 * expect:
 *
 *   Left/Right, Ctrl-B/Ctrl-F    move a character (UTF-8 aware)
 *   Home/End, Ctrl-A/Ctrl-E      start and end of the line
 *   Alt-B/Alt-F, Ctrl-Left/Right move a word
 *   Backspace, Delete, Ctrl-D    delete (Ctrl-D on an empty line: end of input)
 *   Ctrl-K, Ctrl-U, Ctrl-W       kill to the end, to the start, the word before
 *   Up/Down, Ctrl-P/Ctrl-N       history
 *   Ctrl-L                       clear the screen
 *   Ctrl-C                       abandon the line
 *
 * The terminal is put in raw mode only while a line is read, and restored
 * before lineedit_read returns, whatever happens. Pure C: no lua.h.
 */
#ifndef DISPATCH_LINEEDIT_H
#define DISPATCH_LINEEDIT_H

#include <stddef.h>

typedef struct lineedit lineedit;

/* An editor reading in_fd and echoing to out_fd (a terminal or not);
 * history keeps at most max_history lines. NULL when out of memory. */
lineedit *lineedit_new(int in_fd, int out_fd, size_t max_history);

/* Free it (NULL is fine). */
void lineedit_free(lineedit *le);

enum lineedit_result {
    LINEEDIT_LINE = 0,        /* *line is a new malloc'd line, without its newline */
    LINEEDIT_EOF = 1,         /* end of input (Ctrl-D on an empty line) */
    LINEEDIT_INTERRUPTED = 2, /* Ctrl-C: the line was abandoned */
    LINEEDIT_ERROR = -1       /* a read or write failed: errno says why */
};

/* Show prompt and read one line into *line (set only for LINEEDIT_LINE). */
enum lineedit_result lineedit_read(lineedit *le, const char *prompt, char **line);

/* Remember a line for Up/Down (empty lines and repeats of the last are
 * not kept). */
void lineedit_add_history(lineedit *le, const char *line);

/* Does the editor edit (its input is a terminal)? */
int lineedit_is_terminal(const lineedit *le);

#endif
