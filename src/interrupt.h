/*
 * interrupt.h - what to undo when the process is told to stop.
 *
 * Juju stops a hook with SIGTERM (a timeout, the agent going down); a
 * person with SIGINT or SIGHUP. While a hook command runs, dispatch may
 * hold a private directory of plaintext secret files and a child process.
 * The host calls interrupt_install() once; from then on SIGTERM, SIGINT
 * and SIGHUP remove every directory registered here, end every child
 * registered here (SIGTERM, SIGKILL after a short grace, reaped), and then
 * the process dies of that same signal, so its parent sees the usual
 * status (143 for SIGTERM in a shell).
 *
 * Registering is cheap (no system calls) and harmless where nothing is
 * installed: in a foreign host (juju.so under a stock lua5.4) the signal
 * handlers are the host's, not ours to replace. Everything the handler
 * does is async-signal-safe. Pure C: no lua.h.
 */
#ifndef DISPATCH_INTERRUPT_H
#define DISPATCH_INTERRUPT_H

#include <signal.h>
#include <sys/types.h>

/* How many directories and children can be registered at once. */
#define INTERRUPT_SLOTS 8

/* Install the handlers for SIGTERM, SIGINT and SIGHUP. 0, or -1 (errno). */
int interrupt_install(void);

/* Register a directory (absolute path) whose files and itself are removed
 * on a stop. Returns a slot for interrupt_forget_dir, or -1 when all slots
 * are taken (then nothing is registered). */
int interrupt_watch_dir(const char *path);
void interrupt_forget_dir(int slot);

/* Hold the stop signals across a step that makes something and then
 * registers it here (a child, a directory), so that a stop cannot fall
 * between the two and find nothing to undo; a stop that came meanwhile is
 * handled at interrupt_release, once the thing is registered. */
struct interrupt_hold {
    sigset_t saved;   /* the mask before */
    int held;
};
void interrupt_hold(struct interrupt_hold *h);
void interrupt_release(struct interrupt_hold *h);

/* Register a child process to end on a stop; group != 0 when it leads a
 * process group of its own, which is then signalled as a whole (what the
 * child started ends too). Returns a slot or -1. */
int interrupt_watch_child(pid_t pid, int group);
void interrupt_forget_child(int slot);

#endif
