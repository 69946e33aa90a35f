// Hostile folders and files through the door a user opens (loadModel by path), each case in a
// fresh process of its own (test/model/hostile-child.ts) with caps on its heap, its resident
// memory and its time, two at a time (test/model/hostile-pool.ts). Every case must end in an
// error that starts with its path and names the file, field or tensor (an Error, one line, no
// engine message), or, where the damage is harmless, load as the format's valid source does
// (the same weights; the same labels from segment() where the table runs them); and then, in the
// same process, the valid smp folder must load as it does alone. Issue 55's failures (a stack
// overflow, hangs, a wrong answer) are named cases, run through the GPU: segment, then the valid
// folder on the same context.
//
// The cases are tables, one per format (test/model/hostile-cases-*.ts); a new format adds its
// table to TABLES. The rules the readers follow are src/io/reader-rules.ts'.
import { expect } from 'chai';
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smpConfig as readSmpConfig } from '../../src/model/loading/smp-model.js';
import { loadedNetwork } from '../../src/model/loading/loaded-weights.js';
import { smpStateDict, writeSmpFolder } from '../../src/model/weights/smp-export.js';
import { Rng } from '../../src/util/random.js';
import { ENGINE_MESSAGES } from '../hostile.js';
import { type CaseJob, type CaseSource, type Expected, type Fixtures, type FormatTable, type HostileCase, type Outcome } from './hostile-cases.js';
import { CHECKPOINT_CASES, NPY_FOLDER_CASES, SMP_PTH_CASES, TFLITE_CASES, TF_ZOO_CASES, TORCH_PTH_CASES } from './hostile-cases-files.js';
import { HUB_FOLDER_CASES } from './hostile-cases-hub.js';
import { ONNX_CASES } from './hostile-cases-onnx.js';
import { SMP_FOLDER_CASES } from './hostile-cases-smp.js';
import { TRANSFORMERS_JS_CASES } from './hostile-cases-tjs.js';
import { type Caps, type ChildResult, runPool } from './hostile-pool.js';
import { randomParams } from './random-params.js';

/** Every format's table of cases. */
const TABLES: readonly FormatTable[] = [SMP_FOLDER_CASES, HUB_FOLDER_CASES, CHECKPOINT_CASES, SMP_PTH_CASES, TORCH_PTH_CASES, NPY_FOLDER_CASES, TFLITE_CASES, TF_ZOO_CASES, ONNX_CASES, TRANSFORMERS_JS_CASES];

/** The test image segment() runs (width, height): off the model's stride of 8. */
const IMAGE: [number, number] = [24, 20];
/** Cases at once: the suite's two cores. */
const PARALLEL = 2;
/** A case that only loads: the heap, resident memory and CPU seconds it may take. */
const HOST_CAPS: Caps = { heapMiB: 256, rssMiB: 768, cpuSeconds: 30 };
/** A case that also segments: Dawn and lavapipe's own memory and compile time besides. */
const GPU_CAPS: Caps = { heapMiB: 256, rssMiB: 1536, cpuSeconds: 90 };

/** The smp config of the valid folder: a DeepLabV3 on MobileNetV2 to depth 3 (stride 8), 8 decoder channels, 3 classes. */
const VALID_CONFIG = { _model_class: 'DeepLabV3', encoder_name: 'mobilenet_v2', encoder_depth: 3, decoder_channels: 8, decoder_atrous_rates: [2, 4, 6], classes: 3 };

/** Writes the valid smp folder (smp's save_pretrained layout) with weights from a fixed PRNG, and returns the fixtures. */
function writeValidSmpFolder(dir: string): Fixtures {
  const { config, architecture } = readSmpConfig(VALID_CONFIG, 'valid config');
  const network = loadedNetwork(config, architecture);
  const rng = new Rng(55);
  const params = randomParams(network.buildGraph({ height: 32, width: 32 }), () => rng.uniform());
  const weights = { name: 'valid', config, params, unread: new Map(), inputPolicy: { kind: 'stride-multiple' as const, multiple: 8 }, probeSize: [32, 32] as [number, number], classes: { names: [], colors: [] }, ...network };
  writeSmpFolder(dir, weights);
  return { smpFolder: dir, smpConfig: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, smpState: smpStateDict(weights) };
}

/** The JS engine's own errors: thrown from deep inside, they name no file or field. */
const ENGINE_ERRORS = ['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError'];

/**
 * The child process, bundled into one file beside it (one module to parse at start-up, not
 * hundreds): about half of a case's start-up time, which is most of its time.
 */
async function bundleChild(): Promise<string> {
  const outfile = new URL(`./hostile-child.${process.pid}.mjs`, import.meta.url).pathname;
  await build({ entryPoints: [new URL('./hostile-child.js', import.meta.url).pathname], bundle: true, platform: 'node', format: 'esm', packages: 'external', minify: true, outfile, logLevel: 'warning' });
  return outfile;
}

/** Why a refusal is not the clear one a case expects, or null. */
function unclearRefusal(o: Outcome, path: string, pattern: RegExp): string | null {
  if (!('refused' in o)) return `loaded (weights ${o.loaded.digest}), but it must be refused`;
  const { kind, message } = o.refused;
  if (ENGINE_ERRORS.includes(kind)) return `threw a ${kind}: ${message}`;
  if (!message.startsWith(path)) return `the message does not start with the path ${path}: ${message}`;
  if (message.length > 4000 || message.split('\n').length > 40) return `the message is not bounded (${message.length} characters): ${message.slice(0, 200)}...`;
  const engine = ENGINE_MESSAGES.find((p) => p.test(message));
  if (engine) return `the message carries an engine message (${engine}): ${message}`;
  if (!pattern.test(message)) return `the message does not match ${pattern}: ${message}`;
  return null;
}

/**
 * Why a load is not the reference's, or null: the same weights (`by` 'weights'), or the same
 * labels from segment() (`by` 'labels'); both, where both were segmented.
 */
function notTheSame(o: Outcome, ref: Outcome, what: string, by: 'weights' | 'labels' = 'weights'): string | null {
  if ('refused' in o) return `${what} was refused (${o.refused.kind}: ${o.refused.message})`;
  if (!('loaded' in ref)) return `${what}: the reference itself did not load`;
  if (by === 'weights' && o.loaded.digest !== ref.loaded.digest) return `${what} loaded other weights than the reference (${o.loaded.digest}, not ${ref.loaded.digest})`;
  const [a, b] = [o.loaded.labels, ref.loaded.labels];
  if (by === 'labels' && (!a || !b)) return `${what}: not segmented`;
  if (a && b) {
    const differ = a.filter((l, i) => l !== b[i]).length;
    if (a.length !== b.length || differ > 0) return `${what} gave other labels than the reference (${differ} of ${b.length} pixels differ)`;
  }
  return null;
}

interface Planned {
  table: FormatTable;
  /** The case; none for the table's control (its valid source). */
  case?: HostileCase;
  source: CaseSource;
  job: CaseJob;
}

describe('hostile folders and files: each case in a process of its own, then the valid folder @slow @extended', function () {
  this.timeout(900_000);
  let root = '';
  let child = '';
  const results = new Map<Planned['case'] | FormatTable, { planned: Planned; result: ChildResult }>();
  let seconds = 0;
  let making = 0;

  before(async function () {
    this.timeout(900_000);
    const t0 = performance.now();
    root = mkdtempSync(join(tmpdir(), 'hostile-folders-'));
    child = await bundleChild();
    const fx = writeValidSmpFolder(join(root, 'valid-smp'));
    const plan: Planned[] = [];
    const job = (source: CaseSource, gpu: boolean): CaseJob => ({ path: source.path, ...(source.smpConfig === undefined ? {} : { smpConfig: source.smpConfig }), valid: fx.smpFolder, gpu, image: IMAGE });
    for (const [t, table] of TABLES.entries()) {
      const validDir = join(root, `table-${t}`, 'valid');
      mkdirSync(validDir, { recursive: true });
      const valid = await table.valid(validDir, fx);
      plan.push({ table, source: valid, job: job(valid, table.labels) });
      table.cases.forEach((c, i) => {
        const dir = join(root, `table-${t}`, `case-${i}`);
        mkdirSync(dir, { recursive: true });
        const source = c.make(dir, fx, valid);
        plan.push({ table, case: c, source, job: job(source, !!c.issue55 || c.expect === 'same labels') });
      });
    }
    making = (performance.now() - t0) / 1000;
    // The GPU jobs first: the longest, so that the two workers end together.
    const order = [...plan].sort((a, b) => Number(b.job.gpu) - Number(a.job.gpu));
    const out = await runPool(child, order.map((p) => p.job), (j) => (j.gpu ? GPU_CAPS : HOST_CAPS), PARALLEL);
    order.forEach((p, i) => results.set(p.case ?? p.table, { planned: p, result: out[i] }));
    seconds = (performance.now() - t0) / 1000;
  });

  after(() => {
    const gpu = [...results.values()].filter((r) => r.planned.job.gpu).length;
    console.log(`      ${results.size} processes (${gpu} through the GPU), ${PARALLEL} at a time: ${seconds.toFixed(1)} s (${making.toFixed(1)} s of it making the cases)`);
    const timed = [...results.values()].flatMap((r) => ('report' in r.result ? [{ ms: r.result.report.ms, path: r.planned.source.path, gpu: r.planned.job.gpu }] : []));
    const slowest = timed.filter((t) => !t.gpu).sort((a, b) => b.ms - a.ms).slice(0, 3);
    console.log(`      slowest loads without the GPU: ${slowest.map((t) => `${(t.ms / 1000).toFixed(1)} s ${t.path.slice(root.length + 1)}`).join(', ')}`);
    if (root) rmSync(root, { recursive: true, force: true });
    if (child) rmSync(child, { force: true });
  });

  /** The report of a case's (or a control's) process; fails on a child killed or crashed. */
  const reportOf = (key: HostileCase | FormatTable) => {
    const r = results.get(key);
    if (!r) throw new Error('no result: the before hook failed');
    if ('failed' in r.result) expect.fail(`${r.planned.source.path}: ${r.result.failed}`);
    return { ...r.result.report, planned: r.planned };
  };
  /** The valid smp folder loaded alone: the smp table's control. */
  const validAlone = (): Outcome => reportOf(SMP_FOLDER_CASES).outcome;

  for (const table of TABLES) {
    describe(table.format, () => {
      it(`its valid source ${table.refused ? 'is refused as a part of a model' : `loads${table.labels ? ' and segments, into more than one class' : ''}`}, and then the valid folder`, () => {
        const r = reportOf(table);
        if (table.refused) expect(unclearRefusal(r.outcome, r.planned.source.path, table.refused)).to.equal(null);
        else expect(notTheSame(r.outcome, r.outcome, 'the valid source')).to.equal(null);
        if (table.labels && 'loaded' in r.outcome) expect(new Set(r.outcome.loaded.labels).size, 'classes in the labels').to.be.greaterThan(1);
        expect(notTheSame(r.after, validAlone(), 'the valid folder after it')).to.equal(null);
      });
      for (const c of table.cases) {
        const expected: Expected = c.expect;
        const title = expected === 'same' ? 'loads as the valid source' : expected === 'same labels' ? 'segments as the valid source' : 'refused, naming it';
        it(`${c.issue55 ? 'issue 55: ' : ''}${c.name}: ${title}`, () => {
          const r = reportOf(c);
          const ref = reportOf(table).outcome;
          const why =
            expected === 'same' ? notTheSame(r.outcome, ref, 'the case') : expected === 'same labels' ? notTheSame(r.outcome, ref, 'the case', 'labels') : unclearRefusal(r.outcome, r.planned.source.path, expected);
          if (why) expect.fail(`${r.planned.source.path}: ${why}`);
          const after = notTheSame(r.after, validAlone(), 'the valid folder after the case');
          if (after) expect.fail(`${r.planned.source.path}: ${after}`);
        });
      }
    });
  }
});
