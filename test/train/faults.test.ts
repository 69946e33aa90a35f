// Faults during training, simulated:
//  - the GPU device lost mid-run (device.destroy(), as a driver reset would) with deviceLoss 'fail';
//  - a checkpoint that cannot be written. The tests run as root, whom chmod does not stop, so:
//    the run's folder made immutable (chattr +i; skipped where the file system lacks it), and a
//    writer under a file-size limit (ulimit -f: writes past it fail with EFBIG, as a full disk
//    fails them with ENOSPC, after a short write). Not a whole training run under the limit:
//    lavapipe keeps the device memory in a file (memfd) that the limit caps too (SIGBUS);
//  - a checkpoint writer killed with SIGKILL part-way.
// In each the last checkpoint survives byte for byte, and a resumed run repeats the losses of
// one never stopped.
import { expect } from 'chai';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GpuContext, GpuError } from '../../src/gpu/context.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { type RunHooks, type RunOptions, runTraining } from '../../src/train/run.js';
import { removeStrayTempFiles } from '../../src/train/temp-files.js';
import type { CliResult } from '../cli/run-cli.js';
import { expectRejects, makeRng, RUN_SEED } from '../helpers.js';
import { BALLAST, Generations } from './checkpoint-writer.js';
import { readRunLog, smallCamvid } from './small-camvid.js';
import { waitUntil } from '../wait-until.js';

const WRITER = resolve('dist/test/train/checkpoint-writer.js');

const tempFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `command args` under `ulimit -f kib` (files it writes cannot grow past kib KiB: writes beyond fail with EFBIG). */
function runLimited(kib: number, command: string, args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const env = { ...process.env, DEEPLAB_DEBUG: '' };
    execFile('bash', ['-c', `ulimit -f ${kib} && exec "$@"`, 'bash', command, ...args], { env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return fail(error);
      done({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}

describe('training: faults @slow', function () {
  this.timeout(600_000);
  let dir: string;
  let data: string;
  // Validation and checkpoints after steps 2 and 4; a lost device stops the run (by default a
  // new one continues it: test/train/run-device-loss.test.ts).
  const options = (out: string): RunOptions => ({ data, out, model: 'mobilenetv2-pascal-257', steps: 4, batch: 2, crop: 33, lr: 0.002, evalLimit: 1, evalEvery: 2, seed: 5, deviceLoss: 'fail' });
  let whole: number[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-faults-'));
    data = smallCamvid(dir, 3);
    const out = join(dir, 'whole');
    await runTraining(options(out));
    whole = readRunLog(out).map((r) => r.loss);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A run whose device the hooks from `lose` destroy, which must fail with a device-lost error
   * matching `pattern` that says where --resume continues from, and leave latest.safetensors
   * and best.safetensors byte for byte as step 2 left them, with no temporary file.
   */
  async function loseDevice(out: string, lose: (ctx: GpuContext) => RunHooks, pattern: RegExp): Promise<void> {
    const ctx = await GpuContext.create();
    const latest = join(out, 'latest.safetensors');
    const best = join(out, 'best.safetensors');
    let saved: [Buffer, Buffer] | undefined;
    const hooks = lose(ctx);
    const onStep = hooks.onStep;
    try {
      const err = await expectRejects(
        runTraining(options(out), {
          ...hooks,
          ctx,
          onStep: (r) => {
            if (r.step === 2) saved = [readFileSync(latest), readFileSync(best)];
            onStep?.(r);
          },
        }),
        pattern,
        'a run on a lost device',
      );
      expect(err).to.be.instanceOf(GpuError);
      expect((err as GpuError).kind).to.equal('device-lost');
      expect(err.message).to.include(`${latest} holds step 2: --resume continues from there`);
    } finally {
      ctx.destroy();
    }
    expect(readFileSync(latest).equals(saved![0]), 'latest.safetensors is as step 2 left it').to.equal(true);
    expect(readFileSync(best).equals(saved![1]), 'best.safetensors is as step 2 left it').to.equal(true);
    expect(JSON.parse(readSafetensors(latest).metadata.training).step).to.equal(2);
    expect(tempFiles(out)).to.deep.equal([]);
  }

  it('a GPU device lost between steps stops the run at the next step, naming it and the reason; latest.safetensors is as its last checkpoint left it, and --resume repeats the losses of a run never stopped (a torn last log line dropped)', async () => {
    const out = join(dir, 'lost-between-steps');
    let lostAt = 0;
    await loseDevice(
      out,
      (ctx) => ({
        onStep: (r) => {
          if (r.step !== 3) return;
          lostAt = performance.now();
          ctx.device.destroy(); // as a driver reset would
        },
      }),
      /^step 4: .*GPU device lost \(destroyed: device was destroyed\)/,
    );
    console.log(`      (the run stopped ${(performance.now() - lostAt).toFixed(0)} ms after the device was lost)`);
    expect(readRunLog(out).map((r) => r.step), 'no line for the failed step').to.deep.equal([1, 2, 3]);
    // A process killed while appending would leave a torn line; --resume redoes that step anyway.
    appendFileSync(join(out, 'log.jsonl'), '{"step":4,"lo');
    await runTraining({ ...options(out), resume: true });
    const log = readRunLog(out);
    expect(log.map((r) => r.step)).to.deep.equal([1, 2, 3, 4]);
    expect(log.map((r) => r.loss)).to.deep.equal(whole);
  });

  it('a GPU device lost while a checkpoint is read back writes no checkpoint: the error names the step, and --resume repeats the losses of a run never stopped', async () => {
    const out = join(dir, 'lost-in-checkpoint');
    await loseDevice(
      out,
      (ctx) => ({
        // Said after step 4's validation, just before its checkpoints are read back.
        say: (m) => {
          if (m.startsWith('step 4: validation')) ctx.device.destroy();
        },
      }),
      /^step 4: reading back \d+ bytes: GPU device lost \(destroyed: device was destroyed\)/,
    );
    await runTraining({ ...options(out), resume: true });
    expect(readRunLog(out).map((r) => r.loss)).to.deep.equal(whole);
  });

  it('a checkpoint that cannot be written (its folder made immutable with chattr +i, which stops even root creating files) stops the run with an error naming the step and the path; the previous checkpoints are byte-identical and no temporary file is left', async function () {
    const out = join(dir, 'read-only');
    mkdirSync(out);
    // chmod does not stop root; the immutable attribute does, where the file system has it.
    const chattr = (flag: string): boolean => spawnSync('chattr', [flag, out]).status === 0;
    if (!chattr('+i')) this.skip();
    chattr('-i');
    const latest = join(out, 'latest.safetensors');
    const best = join(out, 'best.safetensors');
    let before: Buffer[] = [];
    try {
      await expectRejects(
        runTraining(options(out), {
          // After step 3, which writes nothing but its log line (appended: an immutable folder's files can still grow).
          onStep: (r) => {
            if (r.step !== 3) return;
            before = [readFileSync(latest), readFileSync(best)];
            expect(chattr('+i'), 'chattr +i').to.equal(true);
          },
        }),
        // Step 4 validates and writes best.safetensors first when its mIoU is better, else latest.
        new RegExp(`^step 4: could not write the checkpoint ${escape(out)}/(latest|best)\\.safetensors; the previous one is as it was \\(cannot write ${escape(out)}/\\1\\.safetensors: EPERM: operation not permitted, open '${escape(out)}/\\.\\1\\.safetensors\\.\\d+\\.[0-9a-z]+\\.tmp'\\)$`),
        'a run whose checkpoints cannot be written',
      );
    } finally {
      chattr('-i');
    }
    expect(readFileSync(latest).equals(before[0]), 'latest.safetensors unchanged').to.equal(true);
    expect(readFileSync(best).equals(before[1]), 'best.safetensors unchanged').to.equal(true);
    expect(tempFiles(out)).to.deep.equal([]);
    // Step 4's line comes before its checkpoints (--resume drops it, being past latest's step 2).
    expect(readRunLog(out).map((l) => l.step)).to.deep.equal([1, 2, 3, 4]);
  });
});

describe('checkpoints: writes that fail or are killed', function () {
  this.timeout(300_000);
  let dir: string;
  let gens: Generations;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-ckpt-faults-'));
    gens = new Generations(await loadWeights('mobilenetv2-pascal-257'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Checks that `path` is generation `g` exactly (every tensor, every value) and returns g. */
  function expectGeneration(path: string, allowed: number[]): number {
    const { tensors, metadata } = readSafetensors(path);
    const g = Number(metadata.generation);
    expect(allowed, `${path} holds generation ${metadata.generation}`).to.include(g);
    const names = [...gens.params.keys(), ...gens.extra.keys()];
    expect([...tensors.keys()].sort()).to.deep.equal(names.sort());
    for (const [name, t] of tensors) {
      const want = Generations.value(name, g);
      const bad = t.data.findIndex((v) => v !== want);
      expect(bad, `${name}[${bad}] of generation ${g}`).to.equal(-1);
    }
    return g;
  }

  it('a write that runs out of room part-way through the last tensor fails naming the path and leaves the old file (a short write was once renamed into place)', async () => {
    const target = join(dir, 'short.safetensors');
    gens.write(target, 1);
    const size = statSync(target).size;
    // The limit falls inside the ballast, the last tensor written: write() returns short there.
    const ballastBytes = gens.extra.get(BALLAST)!.data.byteLength;
    const kib = Math.floor((size - ballastBytes / 2) / 1024);
    const r = await runLimited(kib, process.execPath, [WRITER, target, '2', '1']);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.match(new RegExp(`^cannot write ${escape(target)}: EFBIG: file too large, write$`, 'm'));
    expectGeneration(target, [1]);
    expect(tempFiles(dir)).to.deep.equal([]);
  });

  it('SIGKILL at random moments of writing a 40 MB checkpoint leaves the old file or the new one, never a torn one; the temporary files left behind confuse neither the loader nor the next write, and a run removes them', async () => {
    const target = join(dir, 'latest.safetensors');
    gens.write(target, 0);
    const rng = makeRng(RUN_SEED ^ 0x5eed);
    let g = 0;
    let midWrite = 0;
    const kills = 8;
    for (let i = 0; i < kills; i++) {
      const before = tempFiles(dir).length;
      const child: ChildProcess = spawn(process.execPath, [WRITER, target, String(g + 1)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<void>((done) => child.on('close', () => done()));
      await waitUntil(() => {
        if (child.exitCode !== null) throw new Error(`the writer did not start: ${stderr}`);
        return stdout.includes('ready\n');
      }, 'the checkpoint writer to start', 5);
      if (i % 2 === 0) {
        // At a random moment of its writing.
        await new Promise((r) => setTimeout(r, rng() * 600));
      } else {
        // When its temporary file has grown to a random fraction of the whole.
        const fraction = rng();
        const size = statSync(target).size;
        const t0 = performance.now();
        const grown = (): boolean =>
          tempFiles(dir).some((f) => {
            try {
              return statSync(join(dir, f)).size >= fraction * size;
            } catch {
              return false; // renamed meanwhile
            }
          });
        while (!grown() && performance.now() - t0 < 5000) await new Promise((r) => setImmediate(r));
      }
      child.kill('SIGKILL');
      await closed;
      const reported = [...stdout.matchAll(/^wrote (\d+)$/gm)].map((m) => Number(m[1]));
      const last = reported.length ? reported[reported.length - 1] : g;
      // The write in flight may have been renamed into place before its line was printed.
      g = expectGeneration(target, [last, last + 1]);
      if (tempFiles(dir).length > before) midWrite++;
    }
    const strays = tempFiles(dir);
    console.log(`      (${kills} kills, ${midWrite} of them part-way through a write; generation ${g} survived; ${strays.length} temporary files left)`);
    expect(midWrite, 'kills that landed part-way through a write').to.be.greaterThan(0);
    expect(strays.every((f) => /^\.latest\.safetensors\.\d+\.[0-9a-z]+\.tmp$/.test(f))).to.equal(true);
    // The loader opens the target only; the next write makes a temporary file of its own.
    expect((await loadWeights(target)).name).to.equal('mobilenetv2-pascal-257');
    gens.write(target, g + 1);
    expectGeneration(target, [g + 1]);
    // A run in this folder removes them (their writers are gone).
    expect(removeStrayTempFiles(dir).sort()).to.deep.equal(strays.sort());
    expect(tempFiles(dir)).to.deep.equal([]);
    expectGeneration(target, [g + 1]);
  });
});
