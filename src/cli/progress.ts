// A progress line on stderr: "eval  3/9  [######------]  33%  0.41 img/s  ETA 15s  2007_000033".
// On a terminal one line is redrawn in place; otherwise (pipes, CI logs) plain lines are
// written, at most one a second, so logs stay readable and never fill with carriage returns.
import { isFilteredChild, stderrIsTerminal } from './dawn-warnings.js';

export interface ProgressSink {
  write(text: string): void;
  /** Redraw in place (a terminal) or append plain lines. */
  isTTY: boolean;
  /** Terminal width, for trimming the redrawn line. */
  columns?: number;
}

export interface ProgressOptions {
  /** Where to draw; defaults to process.stderr. */
  sink?: ProgressSink;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
  /** Minimum milliseconds between plain (non-TTY) lines; the last item always prints. */
  plainInterval?: number;
  /** What an item is, for the rate ('img' by default: "0.41 img/s"; training counts steps). */
  unit?: string;
}

/** "45s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function defaultSink(): ProgressSink {
  const err = process.stderr;
  // In the CLI's filtered child (dawn-warnings.ts) stderr is a pipe to the parent's terminal.
  const terminal = stderrIsTerminal();
  return {
    write: (t) => err.write(t),
    isTTY: terminal.isTTY,
    get columns() {
      return isFilteredChild() ? terminal.columns : err.columns;
    },
  };
}

export class Progress {
  private done = 0;
  private readonly start: number;
  private lastPlain = -Infinity;
  private drawn = false;
  private readonly sink: ProgressSink;
  private readonly now: () => number;
  private readonly plainInterval: number;
  private readonly unit: string;

  constructor(
    private readonly label: string,
    readonly total: number,
    opts: ProgressOptions = {},
  ) {
    if (!Number.isInteger(total) || total < 0) throw new Error(`Progress: total must be a non-negative integer, got ${total}`);
    this.sink = opts.sink ?? defaultSink();
    this.now = opts.now ?? (() => Date.now());
    this.plainInterval = opts.plainInterval ?? 1000;
    this.unit = opts.unit ?? 'img';
    this.start = this.now();
  }

  /** Items finished per second since the start (0 before the first one). */
  get rate(): number {
    const elapsed = (this.now() - this.start) / 1000;
    return this.done > 0 && elapsed > 0 ? this.done / elapsed : 0;
  }

  /** The status text, without any terminal control characters. */
  line(item?: string): string {
    const { done, total } = this;
    const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
    const width = 20;
    const filled = total > 0 ? Math.round((width * done) / total) : width;
    const rate = this.rate;
    const eta = done >= total ? 'done' : rate > 0 ? `ETA ${formatDuration((total - done) / rate)}` : 'ETA ?';
    const parts = [
      this.label,
      `${String(done).padStart(String(total).length)}/${total}`,
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`,
      `${String(pct).padStart(3)}%`,
      `${rate.toFixed(2)} ${this.unit}/s`,
      eta,
    ];
    if (item) parts.push(item);
    return parts.join('  ');
  }

  /** Draws the current state (0/N at the start) on a terminal; plain output waits for ticks. */
  show(item?: string): void {
    if (this.sink.isTTY) this.render(item);
  }

  /** One more item finished (`item` names it in the line). */
  tick(item?: string): void {
    if (this.done < this.total) this.done++;
    this.render(item);
  }

  private render(item?: string): void {
    const text = this.line(item);
    if (this.sink.isTTY) {
      const cols = this.sink.columns ?? 0;
      const fitted = cols > 1 && text.length >= cols ? text.slice(0, cols - 1) : text;
      // \r back to column 0, ESC[K erase what a longer previous line left behind.
      this.sink.write(`\r\x1b[K${fitted}`);
      this.drawn = true;
      return;
    }
    const t = this.now();
    if (this.done >= this.total || t - this.lastPlain >= this.plainInterval) {
      this.lastPlain = t;
      this.sink.write(`${text}\n`);
    }
  }

  /**
   * Removes the redrawn line before something else is printed to the terminal (the next
   * tick draws it again). A no-op for plain output.
   */
  clear(): void {
    if (this.drawn) {
      this.sink.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  /** Ends the progress display: leaves the final line in place on a terminal. */
  finish(): void {
    if (this.drawn) {
      this.sink.write('\n');
      this.drawn = false;
    }
  }
}
