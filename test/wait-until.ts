// Waiting in a test for something to happen, with no time limit of its own: a test's one limit on
// wall time is its mocha timeout (docs/testing.md: how far from it the suite's tests run), so a
// wait never fails because the host was slow. When a test fails still waiting (its timeout fired),
// the root hooks print what it was waiting for (test/setup.ts).

let waiting: string | undefined;
let cancelled = false;

/** Polls `done` every `pollMs` until it holds; `what` names the wait for a test that times out in it. */
export async function waitUntil(done: () => boolean | Promise<boolean>, what: string, pollMs = 20): Promise<void> {
  waiting = what;
  cancelled = false;
  try {
    while (!(await done())) {
      if (cancelled) throw new Error(`gave up waiting for ${what}: the test ended`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  } finally {
    waiting = undefined;
  }
}

/** Awaits `work`, named `what` for a test that times out while it waits. */
export async function whileWaitingFor<T>(what: string, work: Promise<T>): Promise<T> {
  waiting = what;
  try {
    return await work;
  } finally {
    waiting = undefined;
  }
}

/** What the current test is waiting for, if anything; ends that wait (the test has ended). */
export function endWaits(): string | undefined {
  const what = waiting;
  if (what !== undefined) cancelled = true;
  return what;
}
