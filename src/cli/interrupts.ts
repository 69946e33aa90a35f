// SIGINT and SIGTERM for the CLI's commands, in one process or in the filtered child that a GPU
// command runs in (dawn-warnings.ts).
//
// Ctrl-C reaches the whole process group, parent and child alike, while `kill -INT <pid>` or a
// supervisor's SIGTERM reaches only the process named, usually the parent (the pid a shell or a
// service manager knows). So the parent passes each SIGINT and SIGTERM it gets on to the child,
// as a message over an IPC channel carrying how many of that signal the parent has had, and the
// child counts a signal as the larger of the number it got itself and the parent's count: one
// Ctrl-C is one interrupt though it arrives twice, and a signal to either process alone is one
// too. (Forwarding the signal itself would make one Ctrl-C two, and a command that takes a
// second interrupt as "quit now" would quit at once.)
//
// A command that handles interrupts (train: save and stop after the step) registers a handler
// with onInterrupt; without one, a signal ends the process as the signal's default action does,
// whether it came directly or through the parent.
import type { ChildProcess } from 'node:child_process';

export type InterruptSignal = 'SIGINT' | 'SIGTERM';

const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM'];

/** The exit status of a process that a signal ends: 128 + its number. */
export const SIGNAL_EXIT_CODE: Record<InterruptSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** The parent's message: it has had `count` of `signal` so far. */
interface ForwardedSignal {
  deeplabSignal: InterruptSignal;
  count: number;
}

function isForwardedSignal(m: unknown): m is ForwardedSignal {
  const f = m as Partial<ForwardedSignal> | null;
  return typeof f === 'object' && f !== null && SIGNALS.includes(f.deeplabSignal as InterruptSignal) && Number.isInteger(f.count);
}

/**
 * In the parent: passes each SIGINT and SIGTERM this process gets on to `child` (spawned with an
 * 'ipc' channel), which must not end this process meanwhile; returns the function that stops
 * passing them (before the parent ends itself with the child's signal).
 */
export function forwardInterrupts(child: ChildProcess): () => void {
  const counts: Record<InterruptSignal, number> = { SIGINT: 0, SIGTERM: 0 };
  const listeners = SIGNALS.map((signal) => {
    const listener = (): void => {
      counts[signal]++;
      // A child already gone has nothing to hear (its exit ends the parent's wait).
      if (child.connected) child.send({ deeplabSignal: signal, count: counts[signal] } satisfies ForwardedSignal, () => {});
    };
    process.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) process.off(signal, listener);
  };
}

/** What this process has had of each signal: itself, and by the parent's count. */
const received: Record<InterruptSignal, number> = { SIGINT: 0, SIGTERM: 0 };
const forwarded: Record<InterruptSignal, number> = { SIGINT: 0, SIGTERM: 0 };
/** Interrupts the handler has been told of. */
let told = 0;
let handler: ((signal: InterruptSignal, count: number) => void) | undefined;

/** Tells the handler of each interrupt not yet told (`signal`: the one that just came). */
function deliver(signal: InterruptSignal): void {
  const total = SIGNALS.reduce((n, s) => n + Math.max(received[s], forwarded[s]), 0);
  while (handler && told < total) handler(signal, ++told);
}

/**
 * In the filtered child, once at start: hears the signals the parent passes on. The IPC channel
 * does not keep the process alive.
 */
export function receiveForwardedInterrupts(): void {
  process.on('message', (m: unknown) => {
    if (!isForwardedSignal(m)) return;
    const signal = m.deeplabSignal;
    forwarded[signal] = Math.max(forwarded[signal], m.count);
    // No handler: the signal's default action, as if it had come here directly.
    if (!handler) process.kill(process.pid, signal);
    else deliver(signal);
  });
  process.channel?.unref();
}

/**
 * Calls `h` on each SIGINT or SIGTERM (direct, or passed on by the parent), with how many there
 * have been (1 for the first); returns the function that removes it (the signals' default
 * actions again).
 */
export function onInterrupt(h: (signal: InterruptSignal, count: number) => void): () => void {
  if (handler) throw new Error('onInterrupt: a handler is already registered');
  handler = h;
  const listeners = SIGNALS.map((signal) => {
    const listener = (): void => {
      received[signal]++;
      deliver(signal);
    };
    process.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    handler = undefined;
    for (const { signal, listener } of listeners) process.off(signal, listener);
  };
}
