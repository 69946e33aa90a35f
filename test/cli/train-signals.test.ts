// `deeplab train` stopped by a signal: SIGINT or SIGTERM sent to its own pid (`kill -INT <pid>`,
// as a script or a supervisor sends it: the CLI's parent process, whose child does the work, once
// ignored SIGINT and passed nothing on), and Ctrl-C (SIGINT to the whole process group, parent
// and child alike, which must count as one interrupt: a second one quits without saving). Each
// saves latest.safetensors after the step under way and exits 130 (143 for SIGTERM) with the
// log and the checkpoint agreeing, and --resume goes on from there.
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { sharedPath } from '../shared.js';
import { readRunLog, smallCamvid } from '../train/small-camvid.js';
import { CLI } from './run-cli.js';

/** More steps than any of these runs gets through before its signal. */
const STEPS = 500;

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

describe('CLI: deeplab train stopped by SIGINT or SIGTERM', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  let out: string;
  const started: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-train-signals-'));
    data = smallCamvid(dir, 3);
    out = join(dir, 'out');
  });
  after(() => {
    // A run a failed test left going: its process group (it leads one, spawned detached).
    for (const child of started) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * `deeplab train` on the small data set in its own process group (as a shell starts a
   * command), signalled by `send` once its first step is done; resolves when it has ended.
   */
  async function trainAndSignal(extra: string[], send: (pid: number) => void): Promise<Ended> {
    const args = ['train', '--data', data, '--model', 'mobilenetv2-pascal-257', '--out', out, '--steps', String(STEPS), '--batch', '2', '--crop', '33', '--eval-every', '3', '--eval-limit', '1', '--workers', '1', '--seed', '3', ...extra];
    const env = { ...process.env, DEEPLAB_WEIGHTS_DIR: sharedPath('weights'), DEEPLAB_DEBUG: '' };
    const child = spawn(process.execPath, [CLI, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<Ended>((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
    // The progress line of a step (plain output: one line per tick).
    let running = true;
    void ended.then(() => (running = false));
    while (running && !/^train\s+\d+\/\d+ /m.test(stderr)) await new Promise((r) => setTimeout(r, 20));
    if (!running) throw new Error(`deeplab train ended before its first step: ${stderr}`);
    send(child.pid!);
    return ended;
  }

  /** The run stopped with `code` after saving latest: returns the step it stopped at, checked against the log and the checkpoint. */
  function expectStoppedWhole(r: Ended, code: number, from: number): number {
    expect([r.code, r.signal], `exit status (stderr: ${r.stderr})`).to.deep.equal([code, null]);
    const m = /^stopped (\d+) steps in \d+ s/m.exec(r.stdout);
    expect(m, `stdout: ${r.stdout}`).to.not.equal(null);
    const step = Number(m![1]);
    expect(step, 'the step it stopped at').to.be.within(from + 1, STEPS - 1);
    expect(r.stderr).to.contain(`latest.safetensors saved at step ${step}`);
    expect(readRunLog(out).map((l) => l.step), 'the log: every step once').to.deep.equal(Array.from({ length: step }, (_, i) => i + 1));
    expect(JSON.parse(readSafetensors(join(out, 'latest.safetensors')).metadata.training).step, 'the step latest.safetensors holds').to.equal(step);
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp')), 'temporary files').to.deep.equal([]);
    return step;
  }

  it('kill -INT <pid>, Ctrl-C (SIGINT to the process group) and kill -TERM <pid> each save latest after the step and stop; --resume goes on from there', async () => {
    const byPid = await trainAndSignal([], (pid) => process.kill(pid, 'SIGINT'));
    expect(byPid.stderr).to.contain('deeplab: interrupt: saving latest.safetensors after this step');
    const first = expectStoppedWhole(byPid, 130, 0);

    // Ctrl-C: the terminal sends SIGINT to every process of the foreground group.
    const ctrlC = await trainAndSignal(['--resume'], (pid) => process.kill(-pid, 'SIGINT'));
    expect(ctrlC.stderr).to.contain(`resuming ${join(out, 'latest.safetensors')} at step ${first}`);
    const second = expectStoppedWhole(ctrlC, 130, first);

    const term = await trainAndSignal(['--resume'], (pid) => process.kill(pid, 'SIGTERM'));
    expect(term.stderr).to.contain('deeplab: SIGTERM: saving latest.safetensors after this step');
    const third = expectStoppedWhole(term, 143, second);
    console.log(`      (stopped at steps ${first}, ${second}, ${third})`);
  });
});
