// Waiting for the GPU without spinning the host.
//
// dawn.node settles its promises (onSubmittedWorkDone, mapAsync) by polling the Dawn instance
// from setImmediate for as long as any is pending: the main thread runs at 100 % while the GPU
// works. On a software adapter (lavapipe) those cycles come out of the same cores that run the
// shaders; measured on a 2-core machine, a 257x257 forward pass took 340 ms while polling and
// 220 ms while sleeping through it. A WorkTimer learns how long one recurring submission takes
// (a program's pass), and the host sleeps through most of that before it asks, so it polls only
// for the rest.
//
// The estimate: when the work was still running after the sleep, the whole time from submit to
// completion. When it was already done as soon as the host asked, the sleep was too long by an
// unknown amount, so the estimate halves; it comes back up to the real time the next run.

/** Below this the timer's own granularity (about 1 ms) costs more than polling does. */
const MIN_SLEEP_MS = 2;
/** The share of the expected time slept; the rest is polled, so a faster run is not delayed. */
const SLEEP_FRACTION = 0.8;
/** A wait shorter than this after the sleep means the work had finished during it. */
const DONE_ALREADY_MS = 0.5;

export class WorkTimer {
  private expectedMs = 0;

  /**
   * Waits for work submitted at `submittedAt` (performance.now()): sleeps through most of the
   * expected time, then awaits `done()`: the queue's onSubmittedWorkDone, which settles as soon
   * as the work is finished (a map would add its own copying time to the estimate).
   */
  async wait<T>(submittedAt: number, done: () => Promise<T>): Promise<T> {
    const sleepMs = this.expectedMs * SLEEP_FRACTION;
    const slept = sleepMs >= MIN_SLEEP_MS;
    if (slept) await new Promise((resolve) => setTimeout(resolve, sleepMs));
    const asked = performance.now();
    const result = await done();
    const end = performance.now();
    this.expectedMs = slept && end - asked < DONE_ALREADY_MS ? (asked - submittedAt) / 2 : end - submittedAt;
    return result;
  }

  /** Forgets the estimate (the next wait polls and measures afresh). */
  reset(): void {
    this.expectedMs = 0;
  }

  /** What the next sleep is based on (ms; 0 before the first run). */
  get expected(): number {
    return this.expectedMs;
  }
}
