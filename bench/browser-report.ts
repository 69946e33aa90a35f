// The browser part's own tables (bench/run.ts prints them after the parts' common table): each
// engine against ours with its cold start (making the model, first pass), the photo engines from
// the photo to its class map, and our pass in the page layer by layer (bench/browser-page.ts
// profiles it) against LiteRT.js' whole pass.
import { type BrowserRow, type BrowserRun, threadsLine } from './browser.js';
import type { CaseProfile } from './page-protocol.js';
import { pad } from './common.js';
import { isPhotoEngine } from './photo-engines.js';
import { opTotals, rate } from './profile.js';
import type { LayerProfile } from '../src/graph/profile.js';

const f = (x: number | null | undefined, d = 0): string => (x === null || x === undefined ? '-' : x.toFixed(d));

/** Each case: every engine's median, its ratio to ours, agreement with ours, and its cold start. */
export function printBrowserColdStart(run: BrowserRun): void {
  console.log(`\nbrowser: engines against ours, and cold start (Chromium ${run.chromium}, adapter ${run.adapter}: ${run.start.adapters.ours})`);
  const rt = run.start.runtimeStartMs;
  const starts = [
    run.start.ortStartMs === null ? null : `ORT ${f(run.start.ortStartMs)} ms`,
    rt['ort-wasm'] === undefined ? null : `ORT's WebAssembly build ${f(rt['ort-wasm'])} ms`,
    rt['tfjs-wasm'] === undefined ? null : `TF.js' WebAssembly backend ${f(rt['tfjs-wasm'])} ms`,
    run.start.litertStartMs === null ? null : `LiteRT.js ${f(run.start.litertStartMs)} ms`,
    (rt['mediapipe-cpu'] ?? rt['mediapipe-gpu']) === undefined ? null : `MediaPipe's module ${f(rt['mediapipe-cpu'] ?? rt['mediapipe-gpu'])} ms`,
  ].filter(Boolean);
  if (starts.length) console.log(`runtimes started once before any case (in no first run): ${starts.join(', ')}`);
  console.log(`page: cross-origin isolated ${run.start.crossOriginIsolated}; ${threadsLine(run.start)}`);
  console.log(
    `${pad('model', 18)} ${pad('engine', 14)} ${pad('median ms', 10)} ${pad('/ ours', 7)} ${pad('load ms', 9)} ${pad('1st pass ms', 12)} ${pad('1st run ms', 11)} ${pad('rel. err', 9)} ${pad('argmax %', 9)} accel.`,
  );
  for (const model of [...new Set(run.rows.map((r) => r.model))]) {
    // The photo engines have a table of their own (printPhotoTable).
    const rows = run.rows.filter((r) => r.model === model && !isPhotoEngine(r.engine));
    const ours = rows.find((r) => r.engine === 'ours');
    for (const r of rows) {
      if (r.error) {
        console.log(`${pad(model, 18)} ${pad(r.engine, 14)} did not run: ${r.error}`);
        continue;
      }
      const ratio = ours?.medianMs && r.medianMs ? r.medianMs / ours.medianMs : null;
      const accel = r.fullyAccelerated === undefined ? '' : r.fullyAccelerated ? 'full' : 'partial';
      console.log(
        `${pad(model, 18)} ${pad(r.engine, 14)} ${pad(f(r.medianMs), 10)} ${pad(f(ratio, 2), 7)} ${pad(f(r.loadMs), 9)} ${pad(f(r.firstPassMs), 12)} ${pad(f(r.firstRunMs), 11)} ` +
          `${pad(r.relativeErrorVsOurs === null ? '-' : r.relativeErrorVsOurs.toExponential(1), 9)} ${pad(r.argmaxAgreementVsOurs === null ? '-' : f(100 * r.argmaxAgreementVsOurs, 2), 9)} ${accel}`,
      );
    }
  }
}

/**
 * The photo engines (bench/photo-engines.ts): per model case, each from the decoded photo to its
 * class map at the photo's size in host memory: median, its ratio to ours through segment()
 * (ours-segment), making the engine, the first run, from nothing to the first mask (the runtime's
 * start included), and the share of the photo's pixels given ours' and TF Lite's class.
 */
export function printPhotoTable(run: BrowserRun): void {
  const all = run.rows.filter((r) => isPhotoEngine(r.engine));
  if (!all.length) return;
  const photo = all.find((r) => r.photo)?.photo;
  console.log(`\nbrowser: from the photo${photo ? ` (${photo[1]}x${photo[0]}, decoded)` : ''} to its class map in host memory (MediaPipe ${run.versions.mediapipe ?? '-'})`);
  console.log(
    `${pad('model', 18)} ${pad('engine', 14)} ${pad('median ms', 10)} ${pad('/ ours', 7)} ${pad('load ms', 9)} ${pad('1st pass ms', 12)} ${pad('from nothing', 13)} ${pad('ours %', 7)} ${pad('TF Lite %', 10)} where`,
  );
  for (const model of [...new Set(all.map((r) => r.model))]) {
    const ours = all.find((r) => r.model === model && r.engine === 'ours-segment' && !r.error);
    for (const r of all.filter((x) => x.model === model)) {
      if (r.error) {
        console.log(`${pad(model, 18)} ${pad(r.engine, 14)} did not run: ${r.error}`);
        continue;
      }
      const ratio = ours?.medianMs && r.medianMs ? r.medianMs / ours.medianMs : null;
      const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : f(100 * x, 2));
      console.log(
        `${pad(model, 18)} ${pad(r.engine, 14)} ${pad(f(r.medianMs), 10)} ${pad(f(ratio, 2), 7)} ${pad(f(r.loadMs), 9)} ${pad(f(r.firstPassMs), 12)} ${pad(f(r.coldStartMs), 13)} ` +
          `${pad(pct(r.labelAgreementVsOurs), 7)} ${pad(pct(r.labelAgreementVsTflite), 10)} ${r.adapter ?? ''}`,
      );
    }
  }
}

/**
 * The transformers.js-folder cases: per case, ours and each transformers.js engine from the photo
 * to its class map (median ms, its ratio to ours), their networks on the same pixel_values
 * (relative error), the photo's class maps (share of pixels ours) and the inputs each made of it.
 */
export function printTjsFolderTable(run: BrowserRun): void {
  const folderRows = run.rows.filter((r) => r.photo && !isPhotoEngine(r.engine));
  const cases = [...new Set(folderRows.map((r) => r.model))];
  if (!cases.length) return;
  const [h, w] = folderRows[0].photo!;
  console.log(`\nbrowser: transformers.js folders, a ${w}x${h} photo to its class map (transformers.js ${run.versions.transformers ?? '-'}; adapter ${run.start.adapters.ours})`);
  console.log(`${pad('model', 30)} ${pad('size', 5)} ${pad('engine', 19)} ${pad('median ms', 10)} ${pad('/ ours', 7)} ${pad('network', 9)} ${pad('classes %', 10)} input`);
  for (const model of cases) {
    const rows = run.rows.filter((r) => r.model === model);
    const ours = rows.find((r) => r.engine === 'ours');
    for (const r of rows) {
      const head = `${pad(model, 30)} ${pad(String(r.input[1]), 5)} ${pad(r.engine, 19)}`;
      if (r.error) {
        console.log(`${head} did not run: ${r.error}`);
        continue;
      }
      const ratio = ours?.medianMs && r.medianMs ? r.medianMs / ours.medianMs : null;
      const e = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toExponential(1));
      console.log(`${head} ${pad(f(r.medianMs), 10)} ${pad(f(ratio, 2), 7)} ${pad(e(r.relativeErrorVsOurs), 9)} ${pad(r.labelAgreementVsOurs == null ? '-' : f(100 * r.labelAgreementVsOurs, 2), 10)} ${e(r.inputRelativeErrorVsOurs)}`);
    }
  }
}

/**
 * What a layer computes, in short: a convolution's kernel size, depthwise or groups, channels in
 * and out, stride and rate; any other op's channels in and out; then the output's height x width.
 */
export function layerShape(l: LayerProfile): string {
  const hw = l.outShape.length === 4 ? ` @${l.outShape[1]}x${l.outShape[2]}` : '';
  if (l.op === 'conv2d' && l.inputShapes.length >= 2 && l.attrs) {
    const [kh, kw, , cout] = l.inputShapes[1];
    const cin = l.inputShapes[0][3];
    const a = l.attrs as { strideH: number; strideW: number; dilationH: number; dilationW: number; groups: number };
    const groups = a.groups === 1 ? '' : a.groups === cin ? ' dw' : ` g${a.groups}`;
    const stride = a.strideH === a.strideW ? a.strideH : `${a.strideH}x${a.strideW}`;
    const rate = a.dilationH === a.dilationW ? a.dilationH : `${a.dilationH}x${a.dilationW}`;
    return `${kh}x${kw}${groups} ${cin}>${cout}${stride === 1 ? '' : ` s${stride}`}${rate === 1 ? '' : ` r${rate}`}${hw}`;
  }
  const channels = l.inputShapes.filter((s) => s.length === 4).map((s) => s[3]);
  return `${channels.join('+')}>${l.outShape[l.outShape.length - 1]}${hw}`;
}

/**
 * A layer's kernels in short: shader file, entry point and the constants that pick a variant
 * (tile and workgroup sizes; not the fused epilogue's ACTIVATION and HAS_*), `+` between kernels
 * of one layer.
 */
export function kernelNames(keys: readonly string[]): string {
  return keys
    .map((k) => {
      const [name, constants = ''] = k.split('{');
      const variant = constants.replace(/}$/, '').split(',').filter((c) => c && !/^(ACTIVATION|HAS_[A-Z_]+)=/.test(c));
      return name.replace('.wgsl', '').replace(/:main$/, '') + (variant.length ? ` ${variant.join(',')}` : '');
    })
    .join(' + ');
}

/**
 * Our pass in the page layer by layer: time by op, then the slowest layers with their share of
 * the pass, the running total, their rate and the kernels that run them; against LiteRT.js'
 * WebGPU median in the same run, what our pass must lose to be 1.5x faster than it.
 */
export function printBrowserProfile(p: CaseProfile, rows: readonly BrowserRow[], top = 20): void {
  const litert = rows.find((r) => r.engine === 'litert-webgpu' && r.medianMs !== null);
  const ours = rows.find((r) => r.engine === 'ours' && r.medianMs !== null);
  const gflop = p.layers.reduce((a, l) => a + l.flops, 0) / 1e9;
  const how = p.timing === 'timestamps' ? 'GPU timestamps' : `the host's clock, less ${f(p.hostOverheadMs, 2)} ms an empty submission takes`;
  console.log(`\nbrowser profile: ours, ${p.model} ${p.input.join('x')}, ${f(gflop, 2)} GFLOP, ${p.layers.length} layers with kernels, timed with ${how}, median of ${p.repeats}`);
  console.log(`  whole pass ${f(p.passMs, 1)} ms (${f((gflop * 1e3) / p.passMs, 1)} GFLOP/s); layers one pass each: ${f(p.layersMs, 1)} ms; plain run, host to host: ${f(p.runMs, 1)} ms`);
  if (ours) console.log(`  ours in the timed rounds: median ${f(ours.medianMs, 1)} ms`);
  if (litert) {
    const target = litert.medianMs! / 1.5;
    console.log(
      `  LiteRT.js WebGPU, whole pass host to host: median ${f(litert.medianMs, 1)} ms; our pass / theirs: ${f(p.passMs / litert.medianMs!, 2)}; ` +
        `1.5x faster than theirs means a pass of ${f(target, 1)} ms: ${p.passMs > target ? `${f(p.passMs - target, 1)} ms (${f((100 * (p.passMs - target)) / p.passMs, 1)} %) to cut` : 'met'}`,
    );
  }
  console.log(`  ${pad('op', 22)} ${pad('layers', 7)} ${pad('ms', 9)} ${pad('share', 7)} GFLOP/s`);
  for (const o of opTotals(p.layers)) {
    console.log(`  ${pad(o.op, 22)} ${pad(String(o.layers), 7)} ${pad(f(o.ms, 1), 9)} ${pad(f((100 * o.ms) / p.layersMs, 1) + '%', 7)} ${f(rate({ flops: o.gflop * 1e9, ms: o.ms }), 1)}`);
  }
  console.log(`  slowest layers:`);
  console.log(`  ${pad('layer', 38)} ${pad('op', 12)} ${pad('what', 26)} ${pad('ms', 8)} ${pad('share', 7)} ${pad('cum.', 7)} ${pad('GFLOP/s', 8)} kernels`);
  let cumulative = 0;
  for (const l of [...p.layers].sort((a, b) => b.ms - a.ms).slice(0, top)) {
    cumulative += l.ms;
    console.log(
      `  ${pad(l.name.slice(0, 38), 38)} ${pad(l.op, 12)} ${pad(layerShape(l), 26)} ${pad(f(l.ms, 1), 8)} ${pad(f((100 * l.ms) / p.layersMs, 1) + '%', 7)} ` +
        `${pad(f((100 * cumulative) / p.layersMs, 1) + '%', 7)} ${pad(f(rate(l), 1), 8)} ${kernelNames(l.kernels)}`,
    );
  }
}
