// A failing test's printed replay command draws the values the test drew in the run that failed,
// from its one file (test/random-scope.ts): here after another file ran first in the same process.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_SEED } from '../helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/util -> root
const probe = (name: string): string => relative(ROOT, resolve(dirname(fileURLToPath(import.meta.url)), 'random-scope', `${name}.js`));

/** Runs a shell command line in the project root; its exit status and output. */
function shell(command: string, seed: number): { status: number | null; out: string } {
  const r = spawnSync('bash', ['-c', command], { cwd: ROOT, env: { ...process.env, TEST_SEED: String(seed) }, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const drawn = (out: string): string => {
  const line = out.split('\n').find((l) => l.startsWith('drawn: '));
  expect(line, `a line of drawn values in:\n${out}`).to.not.equal(undefined);
  return line!;
};

describe('test seeds: a failure replays from its one file', () => {
  it('the printed replay command draws what the failed test drew after another file', () => {
    const seed = (RUN_SEED ^ 0x5eed) >>> 0;
    const whole = shell(`npx mocha ${probe('busy-probe')} ${probe('failing-probe')}`, seed);
    expect(whole.status, whole.out).to.equal(1);
    const replay = whole.out.split('\n').find((l) => l.trim().startsWith('replay: '));
    expect(replay, `a replay line in:\n${whole.out}`).to.not.equal(undefined);
    const command = replay!.trim().slice('replay: '.length);
    expect(command).to.match(new RegExp(`^TEST_SEED=${seed} npx mocha ${probe('failing-probe')} --fgrep `));

    const alone = shell(command, 0); // the command's own TEST_SEED wins over the environment's
    expect(alone.status, alone.out).to.equal(1);
    expect(alone.out, 'the replay runs the one test').to.match(/1 failing/).and.not.match(/busy probe/);
    expect(drawn(alone.out)).to.equal(drawn(whole.out));

    const other = shell(command.replace(`TEST_SEED=${seed}`, `TEST_SEED=${seed + 1}`), 0);
    expect(drawn(other.out), 'another seed draws other values').to.not.equal(drawn(whole.out));
  });
});
