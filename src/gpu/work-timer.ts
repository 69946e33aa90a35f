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
// The estimate is the fastest of the last few runs, so that one slow run (a busy host) does not
// make the next sleeps too long; an over-long sleep delays the caller by all of its excess,
// while a short one only polls a little longer.
// - A run still going when the host asked measured its duration: submit to completion.
// - A run already done when the host asked only says it took at most the sleep; the estimate
//   steps down below that, and the next runs measure it again.
// - The first run after construction or reset() is not learned from: a program's first pass
//   includes what the driver does once (lavapipe compiles its shaders at first dispatch), which
//   measured 5-10x a steady pass on a 2-core EPYC and made the next passes sleep for seconds.

/** Below this the timer's own granularity (about 1 ms) costs more than polling does. */
const MIN_SLEEP_MS = 2;
/** The share of the expected time slept; the rest is polled, so a faster run is not delayed. */
const SLEEP_FRACTION = 0.85;
/** A wait shorter than this after the sleep means the work had finished during it. */
const DONE_ALREADY_MS = 0.5;
/** After an over-long sleep, the next estimate is this share of what was slept. */
const OVERSLEPT_STEP = 0.9;
/** Runs remembered; the estimate is the fastest of them. */
const WINDOW = 6;

/** Time as the timer reads it and sleeps through it: the host's own, or a test's. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const HOST_CLOCK: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class WorkTimer {
  private samples: number[] = [];
  private warm = false;

  constructor(private readonly clock: Clock = HOST_CLOCK) {}

  /**
   * Waits for work submitted at `submittedAt` (performance.now()): sleeps through most of the
   * expected time, then awaits `done()`: the queue's onSubmittedWorkDone, which settles as soon
   * as the work is finished (a map would add its own copying time to the estimate).
   */
  async wait<T>(submittedAt: number, done: () => Promise<T>): Promise<T> {
    const sleepMs = this.expected * SLEEP_FRACTION;
    const slept = sleepMs >= MIN_SLEEP_MS;
    if (slept) await this.clock.sleep(sleepMs);
    const asked = this.clock.now();
    const result = await done();
    const end = this.clock.now();
    if (!this.warm) {
      this.warm = true;
      return result;
    }
    if (slept && end - asked < DONE_ALREADY_MS) {
      // Finished somewhere within the sleep: remember a time safely below it.
      this.remember((asked - submittedAt) * OVERSLEPT_STEP);
    } else {
      this.remember(end - submittedAt);
    }
    return result;
  }

  private remember(ms: number): void {
    this.samples.push(ms);
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  /** Forgets the estimate (the next run is not learned from, the one after polls and measures). */
  reset(): void {
    this.samples = [];
    this.warm = false;
  }

  /** What the next sleep is based on (ms; 0 until a run after the first has been measured). */
  get expected(): number {
    return this.samples.length ? Math.min(...this.samples) : 0;
  }
}
