// Where a run spends its time on the host, phase by phase: what the profile part of the bench
// reports (Program.lastRunHostMs), to tell the host's overhead from the GPU's work.

/** A run's host time by phase (ms): inputs written, the pass encoded, submitted, waited for, outputs read back, error scopes closed. */
export interface RunHostMs {
  writeMs: number;
  encodeMs: number;
  submitMs: number;
  waitMs: number;
  readBackMs: number;
  errorScopesMs: number;
  totalMs: number;
}

const PHASES = ['encode', 'submit', 'wait', 'readBack', 'errorScopes'] as const;

/** Marks taken at the end of each phase of a run, in order; `writeMs` is measured inside encoding. */
export class RunPhases {
  private readonly marks = [performance.now()];

  /** The phase before this mark has ended. */
  mark(): void {
    this.marks.push(performance.now());
  }

  /** The phases' durations once every phase is marked; encoding excludes writing the inputs. */
  result(writeMs: number): RunHostMs {
    if (this.marks.length !== PHASES.length + 1) throw new Error(`RunPhases: ${this.marks.length - 1} of ${PHASES.length} phases marked`);
    const span = (i: number): number => this.marks[i + 1] - this.marks[i];
    return {
      writeMs,
      encodeMs: span(0) - writeMs,
      submitMs: span(1),
      waitMs: span(2),
      readBackMs: span(3),
      errorScopesMs: span(4),
      totalMs: this.marks[PHASES.length] - this.marks[0],
    };
  }
}
