// Runs the built `deeplab` CLI (dist/src/cli/main.js) in a child process, as a user would.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { sharedPath } from '../shared.js';

export const CLI = resolve('dist/src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with the shared offline weights (tests never download). */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const merged = { ...process.env, DEEPLAB_WEIGHTS_DIR: sharedPath('weights'), DEEPLAB_DEBUG: '', ...env };
    // An undefined value removes the variable (child_process would pass the string 'undefined').
    const childEnv = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as Record<string, string>;
    execFile(process.execPath, [CLI, ...args], { env: childEnv, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return fail(error);
      done({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

/** stderr without the adapter's start-up warnings (Dawn prints them for every device). */
export function messages(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith('Warning: '))
    .join('\n');
}
