// Keeping Dawn's start-up warnings out of a user's terminal.
//
// When an adapter reports huge dynamic-buffer limits (lavapipe reports 1000000), Dawn clamps
// them and prints two lines, "Warning: maxDynamic{Uniform,Storage}BuffersPerPipelineLayout
// artificially reduced from ... to fit dynamic offset allocation limit.", from native code
// straight to file descriptor 2, on every run. Neither Dawn's `create()` flags (verbose,
// toggles) nor the bindings can silence them, and Node cannot redirect its own descriptor 2. So
// the CLI does its work in a child process whose stderr passes through this filter, which drops
// exactly those lines and nothing else. DEEPLAB_DEBUG=1 runs in one process and shows them.
import { spawn } from 'node:child_process';
import { readFlag } from '../util/flags.js';
import { forwardInterrupts } from './interrupts.js';

const WARNING = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?\n$/;
const PREFIX = 'Warning: maxDynamic';

/**
 * A stream filter over stderr text: whole lines that are Dawn's warnings are dropped; any
 * other text passes at once (progress redraws without a newline included), except a line's
 * start that could still become a warning, which waits for the rest of its line.
 */
export class DawnWarningFilter {
  private pending = '';

  push(chunk: string): string {
    this.pending += chunk;
    let out = '';
    for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, nl + 1);
      this.pending = this.pending.slice(nl + 1);
      if (!WARNING.test(line)) out += line;
    }
    const couldBeWarning = PREFIX.startsWith(this.pending) || this.pending.startsWith(PREFIX);
    if (!couldBeWarning) {
      out += this.pending;
      this.pending = '';
    }
    return out;
  }

  /** What is left at the end of the stream. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}

/** Set in the child: the parent filters its stderr, and says whether that stderr is a terminal. */
const CHILD = 'DEEPLAB_CLI_CHILD' as const;

/** Whether this process is the CLI's filtered child. */
export function isFilteredChild(): boolean {
  return readFlag(CHILD) !== undefined;
}

/** The parent's stderr as the child should see it (progress redraws in place on a terminal). */
export function stderrIsTerminal(): { isTTY: boolean; columns?: number } {
  if (isFilteredChild()) {
    return { isTTY: readFlag(CHILD) === 'tty', columns: readFlag('DEEPLAB_CLI_COLUMNS') };
  }
  return { isTTY: !!process.stderr.isTTY, columns: process.stderr.columns };
}

/**
 * Runs this same script with the same arguments in a child whose stderr is filtered; resolves
 * to the exit code to leave with. Stdin and stdout are the child's own (inherited).
 */
export function runFilteredChild(script: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const tty = !!process.stderr.isTTY;
    const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
      // The IPC channel carries the SIGINT and SIGTERM this process gets (interrupts.ts).
      stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, [CHILD]: tty ? 'tty' : 'pipe', DEEPLAB_CLI_COLUMNS: String(process.stderr.columns ?? '') },
    });
    const filter = new DawnWarningFilter();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const text = filter.push(chunk);
      if (text) process.stderr.write(text);
    });
    // SIGINT and SIGTERM (Ctrl-C, or sent to this pid alone) go on to the child, which decides
    // what they do; the parent waits for it.
    const stopForwarding = forwardInterrupts(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      stopForwarding();
      const rest = filter.flush();
      if (rest) process.stderr.write(rest);
      if (signal) {
        process.kill(process.pid, signal);
        return;
      }
      resolve(code ?? 1);
    });
  });
}
