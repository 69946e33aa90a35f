// The headline figures of one GPU run in one file (issue 75): the last step of
// scripts/device/gpu-run.sh reads the JSON the other steps wrote (the runner's reports,
// torch_peer.py's, mocha's JSON reporter's) and writes <gpu>-summary.json. Every figure names
// where it came from by rule (below); a figure no step file holds is null, and the object's
// `missing` says why.
//
//   node dist/bench/summary.js [--dir bench/results] [--gpu h100] [--files a.json,b.json] [--out FILE]
//     [--gpu-name NAME] [--driver VERSION] [--commit SHA] [--peak-tflops N]
//
// Without --files it reads <dir>/<gpu>-*.json (the summary itself left out), in name order;
// where two files hold the same figure, the first one's is kept and the run says so.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, runIfMain, writeReport } from './common.js';

/** The project's root (dist/bench -> root); not bench/model.js' ROOT, which would load the engine and TF.js for nothing. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The networks and training cases the summary reports, by their names in the runner's parts. */
export const SUMMARY_NETWORKS = ['mobilenetv2-513', 'resnet50-os16'] as const;
export const SUMMARY_TRAIN = { mobilenetv2: 'mobilenetv2-257', resnet50: 'resnet50' } as const;

type Row = Record<string, unknown> & { part?: string; model?: string; engine?: string };
/** One step file, parsed. */
export interface StepFile {
  file: string;
  json: Record<string, unknown>;
}

/** A figure or null; where null, `missing` of its object says why. */
type Figure<T> = T | null;
type WithMissing<T> = T & { missing?: Record<string, string> };

export interface NetworkSummary {
  f32Ms: Figure<number>;
  f16Ms: Figure<number>;
  tfjsMs: Figure<number>;
  ortMs: Figure<number>;
  ortProvider: Figure<string>;
  torchF32Ms: Figure<number>;
  torchF16Ms: Figure<number>;
  gpuPassMs: Figure<number>;
  forwardToHostMs: Figure<number>;
  segmentMs: Figure<number>;
  f16Agreement: Figure<number>;
}

export interface Summary {
  gpu: Figure<string>;
  driver: Figure<string>;
  date: Figure<string>;
  commit: Figure<string>;
  peakTflopsF32: Figure<number>;
  layers: WithMissing<{ layer: string; oursTflops: Figure<number>; tfjsTflops: Figure<number> }>[];
  networks: Record<(typeof SUMMARY_NETWORKS)[number], WithMissing<NetworkSummary>>;
  train: Record<keyof typeof SUMMARY_TRAIN, WithMissing<{ oursMs: Figure<number>; torchMs: Figure<number> }>>;
  tests: WithMissing<{ passing: Figure<number>; failing: Figure<number> }>;
  missing?: Record<string, string>;
}

export interface SummaryOptions {
  gpuName?: string;
  driver?: string;
  commit?: string;
  peakTflops?: number;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const rowsOf = (f: StepFile): Row[] => (Array.isArray(f.json.results) ? (f.json.results as Row[]) : []);
/** The runner's reports: results with a part. */
const isBenchReport = (f: StepFile) => rowsOf(f).some((r) => typeof r.part === 'string');
/** torch_peer.py's forward-pass reports: pytorch rows without a part or a crop. */
const isTorchForward = (f: StepFile) => rowsOf(f).some((r) => r.part === undefined && r.crop === undefined && String(r.engine).startsWith('pytorch'));
/** mocha's JSON reporter. */
const isMocha = (f: StepFile) => typeof f.json.stats === 'object' && f.json.stats !== null && Array.isArray(f.json.tests);

/** Finds figures across the step files, first file first, noting where a later file held the same one. */
class Finder {
  readonly conflicts: string[] = [];
  constructor(private readonly files: readonly StepFile[]) {}

  /** The first row matching `match` (in the files `which` accepts) whose `pick` is not undefined. */
  find<T>(what: string, which: (f: StepFile) => boolean, match: (r: Row) => boolean, pick: (r: Row) => T | undefined): { value: T; file: string } | null {
    const found: { value: T; file: string }[] = [];
    for (const f of this.files.filter(which)) {
      const row = rowsOf(f).find(match);
      const value = row === undefined ? undefined : pick(row);
      if (value !== undefined) found.push({ value, file: f.file });
    }
    if (found.length > 1) this.conflicts.push(`${what}: ${found.map((x) => basename(x.file)).join(', ')} (the first kept)`);
    return found[0] ?? null;
  }
}

/** Sets `key` of `into` from `got`, or null with `why` in its `missing`. */
function put<T extends object, K extends keyof T>(into: WithMissing<T>, key: K, got: T[K] | null | undefined, why: string): void {
  into[key] = (got ?? null) as T[K];
  if (got === null || got === undefined) (into.missing ??= {})[key as string] = why;
}

/** A timed row's median, or its `error` as the reason it is missing. */
function timedOrWhy(row: Row | undefined, absent: string): [number | null, string] {
  if (!row) return [null, absent];
  const ms = num(row.medianMs);
  return [ms, typeof row.error === 'string' ? row.error : ms === null ? `its row has no median (${absent})` : ''];
}

export function buildSummary(files: readonly StepFile[], o: SummaryOptions = {}): { summary: Summary; conflicts: string[] } {
  const find = new Finder(files);
  const bench = files.filter(isBenchReport);
  /** The first row of `part` matching `match`: `what` names it where two files hold one. */
  const benchRow = (what: string, part: string, match: (r: Row) => boolean): Row | undefined => find.find(what, isBenchReport, (r) => r.part === part && match(r), (r) => r)?.value;
  const summary = { layers: [], networks: {}, train: {}, tests: {} } as unknown as Summary;

  // The machine and the run.
  const torchFile = files.find(isTorchForward);
  put(summary, 'gpu', o.gpuName ?? (typeof torchFile?.json.adapter === 'string' ? torchFile.json.adapter : null), 'no --gpu-name, and no torch_peer.py report naming the CUDA device');
  const adapter = bench.map((f) => f.json.adapter).find((a): a is string => typeof a === 'string');
  put(summary, 'driver', o.driver ?? adapter?.match(/\d+\.\d+\.\d+/)?.[0], 'no --driver, and no version in the adapter the reports name');
  const dates = bench.map((f) => f.json.date).filter((d): d is string => typeof d === 'string').sort();
  put(summary, 'date', dates[0], 'no report gives a date');
  put(summary, 'commit', o.commit, 'no --commit given (the reports do not record one)');
  const reportPeak = bench.map((f) => num(f.json.peakTflopsF32)).find((p) => p !== null);
  put(summary, 'peakTflopsF32', o.peakTflops ?? reportPeak, "no --peak-tflops given, to the summary or to the runner's steps (the GPU is not in gpu-run.sh's table)");

  // Per layer, ours against TF.js (part kernels: conv rows carry GFLOP/s; the memory-bound ones GB/s).
  const layerNames = [...new Set(bench.flatMap((f) => rowsOf(f).filter((r) => r.part === 'kernels' && r.gflops !== undefined).map((r) => String(r.model))))];
  for (const layer of layerNames) {
    const entry = { layer } as Summary['layers'][number];
    for (const [key, engine] of [['oursTflops', 'ours'], ['tfjsTflops', 'tfjs']] as const) {
      const row = benchRow(`${key} of ${layer}`, 'kernels', (r) => r.model === layer && r.engine === engine);
      const tflops = row ? num(row.tflops) ?? (num(row.gflops) === null ? null : num(row.gflops)! / 1000) : null;
      put(entry, key, tflops, row ? `its time was ${row.medianMs} ms: too short to time` : `no ${engine} row for ${layer} in part kernels`);
    }
    summary.layers.push(entry);
  }
  if (!layerNames.length) (summary.missing ??= {}).layers = 'no part kernels in the step files';

  // The networks: f32 and f16 side by side (part precision), TF.js (part model), ORT (part
  // ort-node), PyTorch (torch_peer.py), the host path (part profile).
  for (const name of SUMMARY_NETWORKS) {
    const n = {} as WithMissing<NetworkSummary>;
    for (const [key, precision] of [['f32Ms', 'f32'], ['f16Ms', 'f16']] as const) {
      put(n, key, num(benchRow(`${key} of ${name}`, 'precision', (r) => r.model === name && r.precision === precision)?.medianMs), `no ${precision} row for ${name} in part precision`);
    }
    put(n, 'tfjsMs', ...timedOrWhy(benchRow(`tfjsMs of ${name}`, 'model', (r) => r.model === name && r.engine === 'tfjs'), `no TF.js row for ${name} in part model`));
    const ortRow = benchRow(`ortMs of ${name}`, 'ort-node', (r) => r.model === name && r.engine === 'ort-node');
    put(n, 'ortMs', ...timedOrWhy(ortRow, `no ort-node row for ${name}`));
    put(n, 'ortProvider', typeof ortRow?.ortProvider === 'string' ? ortRow.ortProvider : null, ortRow ? String(ortRow.error ?? 'its row names no provider') : `no ort-node row for ${name}`);
    for (const [key, f16] of [['torchF32Ms', false], ['torchF16Ms', true]] as const) {
      const torch = name.startsWith('resnet50-os')
        ? find.find(`${key} of ${name}`, isTorchForward, (r) => r.model === `${name}-513` && r.batch === 1 && (r.precision === 'f16' || String(r.engine).includes('autocast')) === f16, (r) => num(r.medianMs) ?? undefined)
        : null;
      const why = name.startsWith('resnet50-os') ? `no torch_peer.py ${f16 ? 'f16 autocast' : 'f32'} row for ${name}-513 at batch 1` : "torchvision has no DeepLabv3 on TF DeepLab's MobileNetV2";
      put(n, key, torch?.value, why);
    }
    const profile = benchRow(`the profile of ${name}`, 'profile', (r) => r.model === name);
    const noProfile = `no part profile row for ${name}`;
    put(n, 'gpuPassMs', num(profile?.passMs), noProfile);
    put(n, 'forwardToHostMs', num(profile?.medianMs), noProfile);
    put(n, 'segmentMs', num(profile?.segmentMs), profile ? 'its profile row has no segmentMs' : noProfile);
    const f16 = benchRow(`f16Agreement of ${name}`, 'precision', (r) => r.model === name && r.precision === 'f16');
    put(n, 'f16Agreement', num(f16?.agreementWithF32), f16 ? 'random weights: no VOC-sample classes to agree on' : `no f16 row for ${name} in part precision`);
    summary.networks[name] = n;
  }

  // Training steps (part train: ours, and PyTorch's row on the GPU or its error; its CPU row pairs with ours on the CPU).
  for (const [key, model] of Object.entries(SUMMARY_TRAIN) as [keyof typeof SUMMARY_TRAIN, string][]) {
    const t = {} as Summary['train'][typeof key];
    put(t, 'oursMs', ...timedOrWhy(benchRow(`train oursMs of ${model}`, 'train', (r) => r.model === model && r.engine === 'ours'), `no part train row for ${model}`));
    put(t, 'torchMs', ...timedOrWhy(benchRow(`train torchMs of ${model}`, 'train', (r) => r.model === model && r.engine === 'pytorch' && r.device !== 'cpu'), `no PyTorch row for ${model} in part train`));
    summary.train[key] = t;
  }

  // The test step: mocha's JSON reporter.
  const mocha = files.filter(isMocha);
  if (mocha.length > 1) find.conflicts.push(`tests: ${mocha.map((f) => basename(f.file)).join(', ')} (the first kept)`);
  const stats = mocha[0]?.json.stats as { passes?: unknown; failures?: unknown } | undefined;
  put(summary.tests, 'passing', num(stats?.passes), 'no mocha JSON report among the step files');
  put(summary.tests, 'failing', num(stats?.failures), 'no mocha JSON report among the step files');
  return { summary: order(summary), conflicts: find.conflicts };
}

/** `o` with its `missing` (where it has one) last, after the figures. */
function missingLast<T extends { missing?: unknown }>(o: T): T {
  const { missing, ...rest } = o;
  return (missing ? { ...rest, missing } : rest) as T;
}

/** The fields in the order the summary is read, each object's `missing` last. */
function order(s: Summary): Summary {
  const { gpu, driver, date, commit, peakTflopsF32, layers, networks, train, tests, missing } = s;
  const each = <K extends string, V extends { missing?: unknown }>(r: Record<K, V>) => Object.fromEntries(Object.entries<V>(r).map(([k, v]) => [k, missingLast(v)])) as Record<K, V>;
  return missingLast({ gpu, driver, date, commit, peakTflopsF32, layers: layers.map(missingLast), networks: each(networks), train: each(train), tests: missingLast(tests), missing });
}

/** The step files: `files`, or <dir>/<gpu>-*.json without the summary, in name order. */
export function readStepFiles(o: { dir: string; gpu: string; files?: string[] }): StepFile[] {
  const paths = o.files ?? readdirSync(o.dir).filter((n) => n.startsWith(`${o.gpu}-`) && n.endsWith('.json') && n !== `${o.gpu}-summary.json`).sort().map((n) => join(o.dir, n));
  if (!paths.length) throw new Error(`bench:summary: no step files ${o.files ? 'given' : `${o.gpu}-*.json in ${o.dir}`}`);
  return paths.map((file) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`bench:summary: ${file} is not readable JSON: ${(e as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`bench:summary: ${file} holds no JSON object`);
    return { file, json: json as Record<string, unknown> };
  });
}

async function main(): Promise<void> {
  const args = benchArgs('bench:summary', process.argv.slice(2), [], ['--dir', '--gpu', '--files', '--out', '--gpu-name', '--driver', '--commit', '--peak-tflops']);
  const dir = resolve(args.value('--dir') ?? join(ROOT, 'bench', 'results'));
  const gpu = args.value('--gpu') ?? 'gpu';
  const files = readStepFiles({ dir, gpu, files: args.value('--files')?.split(',').map((f) => resolve(f)) });
  console.log(`bench:summary: ${files.map((f) => basename(f.file)).join(', ')}`);
  const { summary, conflicts } = buildSummary(files, {
    gpuName: args.value('--gpu-name'), driver: args.value('--driver'), commit: args.value('--commit'), peakTflops: args.positive('--peak-tflops'),
  });
  for (const c of conflicts) console.log(`found in more than one file: ${c}`);
  console.log(JSON.stringify(summary, null, 2));
  writeReport(resolve(args.value('--out') ?? join(dir, `${gpu}-summary.json`)), summary);
}

runIfMain(import.meta.url, main);
