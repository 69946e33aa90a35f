// The browser page's engines timed in turns: `warmup` untimed rounds, then `repeats` timed rounds,
// round i starting with engine i mod n, so drift on a shared machine falls on all alike. Shared by
// the model cases (browser-page.ts) and the transformers.js-folder cases (tjs-folder-page.ts).

/** An engine opened on the page: one run, timed. */
export interface PageEngine {
  name: string;
  run(): Promise<{ ms: number }>;
}

/** What every engine of a page case reports: its first run, its timed runs, and how its output agrees with ours. */
export interface PageEngineTimes {
  /** Making the engine's model from the file's bytes (or our graph), compiling, and its first pass. */
  firstRunMs: number | null;
  /** Making the engine's model alone (firstRunMs less firstPassMs). */
  loadMs: number | null;
  /** The first pass alone. */
  firstPassMs: number | null;
  samplesMs: number[];
  /** ‖theirs − ours‖ / ‖ours‖ of the network's output on the same input (null for ours). */
  relativeErrorVsOurs: number | null;
  /** Share of the output's pixels whose argmax class is ours (null for ours). */
  argmaxAgreementVsOurs: number | null;
  /** Why the engine did not run this case. */
  error?: string;
}

/** A progress line for the Node side, which prints the page's console.info lines starting with 'bench: '. */
export const progress = (line: string): void => console.info(`bench: ${line}`);

/** Times `engines` in turns; `record` is given each timed run's milliseconds. */
export async function timeInTurns<E extends PageEngine>(engines: readonly E[], o: { name: string; warmup: number; repeats: number }, record: (e: E, ms: number) => void): Promise<void> {
  for (let i = 0; i < o.warmup; i++) {
    progress(`${o.name}: warm-up round ${i + 1} of ${o.warmup}`);
    for (const e of engines) await e.run();
  }
  for (let i = 0; i < o.repeats; i++) {
    progress(`${o.name}: round ${i + 1} of ${o.repeats}`);
    for (let k = 0; k < engines.length; k++) {
      const e = engines[(i + k) % engines.length];
      record(e, (await e.run()).ms);
    }
  }
}
