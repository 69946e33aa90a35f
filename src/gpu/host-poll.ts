// How a Node process polls Dawn while it waits for the GPU.
//
// dawn.node settles its promises (onSubmittedWorkDone, mapAsync, createComputePipelineAsync) by
// calling the Dawn instance's ProcessEvents from `setImmediate`, again and again for as long as
// one is pending: the main thread runs at 100 % for the whole wait. It looks `setImmediate` up on
// the global object at every tick. On a software adapter (lavapipe) the GPU is the same CPU
// cores, and lavapipe compiles a shader at its first dispatch on a thread of its own: a wait of
// seconds during which the polling thread takes half of a 2-core host from the compiler.
//
// backOffHostPolling() wraps `setImmediate` so that Dawn's tick (an unnamed native function)
// polls at once for the first 2 ms of a wait, and after that once a millisecond (a timer): a
// long wait ends at most about a millisecond later, and the host sleeps through it. Other
// callbacks are scheduled as before. Until the process has made a context on a software adapter
// it polls at once for 20 ms: on an H100 a forward pass and its read-back wait 10-30 ms, and
// backing off after 2 ms made them 1-3 ms slower, while nothing needed that core. Programs that
// run a pass again and again also sleep through most of it before they ask (work-timer.ts);
// this is for every other wait: first passes, compiles, one-off reads.
//
// It changes a global of the process, so the library never installs it by itself: the CLI and
// the tests do, and an application that owns its process may. DEEPLAB_HOST_POLL=spin leaves
// Dawn's polling as it is.
import { readFlag } from '../util/flags.js';

/** Polling at once for this long covers a short wait; past it, a wait is long. */
const SPIN_MS_SOFTWARE = 2;
/** The same with only GPUs in the process: their waits are short, and polling costs no shader a core. */
const SPIN_MS_GPU = 20;
/** Ticks further apart than this belong to different waits. */
const NEW_WAIT_GAP_MS = 4;
/** The timer's delay once a wait is long: Node's smallest. */
const TICK_MS = 1;

interface Installed {
  original: typeof setImmediate;
  wrapper: typeof setImmediate;
}

let installed: Installed | undefined;
let spinMs = SPIN_MS_GPU;

/** Called for each context made (context.ts): once one is on a software adapter, waits back off after 2 ms. */
export function noteAdapterKind(software: boolean): void {
  if (software) spinMs = SPIN_MS_SOFTWARE;
}

/** How long a wait polls at once before it backs off, in milliseconds (2 once a software adapter was made, else 20). */
export function hostPollSpinMs(): number {
  return spinMs;
}

/** Whether `fn` is dawn.node's polling tick: a native function with no name (a bound function is named `bound ...`). */
export function isDawnTick(fn: unknown): fn is (...args: unknown[]) => void {
  return typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/**
 * Makes Dawn's polling in this Node process back off to one tick a millisecond once a wait has
 * lasted 2 ms on a software adapter, 20 ms on a GPU (see the top of this file). Idempotent; does
 * nothing where there is no `setImmediate` (a browser) or where DEEPLAB_HOST_POLL is 'spin'.
 * Returns whether it is on.
 */
export function backOffHostPolling(): boolean {
  if (installed) return true;
  if (typeof globalThis.setImmediate !== 'function' || readFlag('DEEPLAB_HOST_POLL') === 'spin') return false;
  const original = globalThis.setImmediate;
  // The timer functions as they are now: a test's fake timers installed later must not hold Dawn's ticks.
  const timer = globalThis.setTimeout;
  let lastTick = -Infinity;
  let waitStart = 0;
  const wrapper = function (callback: unknown, ...args: unknown[]) {
    if (isDawnTick(callback)) {
      const now = performance.now();
      if (now - lastTick > NEW_WAIT_GAP_MS) waitStart = now;
      lastTick = now;
      if (now - waitStart >= spinMs) return timer(callback, TICK_MS, ...args);
    }
    return original(callback as (...a: unknown[]) => void, ...args);
  } as typeof setImmediate;
  // util.promisify(setImmediate) and the like read properties of the function itself.
  Object.defineProperties(wrapper, Object.getOwnPropertyDescriptors(original));
  globalThis.setImmediate = wrapper;
  installed = { original, wrapper };
  return true;
}

/** Puts the process's own `setImmediate` back, if backOffHostPolling() replaced it and nobody replaced it since. */
export function restoreHostPolling(): void {
  if (!installed) return;
  if (globalThis.setImmediate === installed.wrapper) globalThis.setImmediate = installed.original;
  installed = undefined;
}
