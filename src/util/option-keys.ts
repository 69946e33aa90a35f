// Option objects checked by name: a key the call does not know (a typo, or an option of another
// call) is an error naming it and the known ones, never silently ignored.
import { closest } from './closest.js';

/**
 * Throws when `options` has a key not in `known`: `<what>: unknown option 'x' (did you mean
 * 'y'?); known options: a, b, c`. `hint` may add a sentence for a particular key (where it
 * belongs instead).
 */
export function checkOptionKeys(what: string, options: object | undefined, known: readonly string[], hint?: (key: string) => string | undefined): void {
  if (options === undefined || options === null) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    const extra = hint?.(key);
    throw new Error(`${what}: unknown option '${key}'${guess ? ` (did you mean '${guess}'?)` : ''}${extra ? `; ${extra}` : ''}; known options: ${known.join(', ')}`);
  }
}

/** `signal` as given: an AbortSignal or undefined (an AbortController, say, is an error naming the call). */
export function checkSignal(what: string, signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  // By shape, not instanceof: a signal from another realm (a frame, a worker's global) is one too.
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s?.aborted === 'boolean' && typeof s.throwIfAborted === 'function') return signal as AbortSignal;
  const kind = signal === null ? 'null' : typeof signal === 'object' ? (signal.constructor?.name ?? 'an object') : typeof signal;
  throw new Error(`${what}: signal must be an AbortSignal (AbortController's .signal), got ${kind}`);
}
