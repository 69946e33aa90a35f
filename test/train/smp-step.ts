// smp's two training fixtures (../shared/fixtures/smp, README "Training references"): their
// floors, the folder and batch, the step as outputs for the CPU interpreter, and the comparison
// of a step's gradients and running statistics with float64's step TRACED to our forward (every
// ReLU/ReLU6 input our float32 puts on the other side of a kink moved to our side, the
// image-pooling batch norm fed our input: smp-training.test.ts says why). Shared by the test of
// the trainer's step and of fineTune through the door, in Node and in the page.
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type ValueHook, runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import type { BandArray } from '../../src/io/band-image.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { parseNpy, readNpy } from '../../src/model/weights/import/npy.js';
import type { HostTensor } from '../../src/model/weights/import/tensor-map.js';
import { readZip } from '../../src/model/weights/import/zip.js';
import { type TrainingLoss, lossTerms } from '../../src/train/loss-choice.js';
import { headLoss, trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError } from '../helpers.js';
import { nchwToNhwc } from '../model/layout.js';
import { smpFixture, writeSmpFolder } from '../model/smp-fixture.js';
import { torchLayout } from './sgd-update.js';
import { type KinkFlip, asF64, describeFlip, followKinks, holdValues, median, norm } from './float64-gradients.js';

/** smp's float32 step against its float64 reference (README "Float32 floor of the training step"). */
export interface Floor {
  loss: number;
  logits: number;
  globalGrad: number;
  worstGrad: number;
  stats: number;
  /** PyTorch float32's relative drift at the image-pooling batch norm's input (decoder.aspp[.0].convs.4.1), measured (scripts/fixtures/smp-precision). */
  imagePool: number;
}

export const FIXTURES: { folder: string; loss: TrainingLoss; floor: Floor }[] = [
  { folder: 'deeplabv3-mobilenet_v2', loss: 'bce+dice', floor: { loss: 3.0e-6, logits: 2.2e-5, globalGrad: 9.7e-5, worstGrad: 1.5e-4, stats: 7.1e-6, imagePool: 2.4e-6 } },
  { folder: 'deeplabv3plus-mobilenet_v2', loss: 'ce', floor: { loss: 1.0e-5, logits: 3.5e-5, globalGrad: 7.8e-4, worstGrad: 1.0e-3, stats: 2.0e-5, imagePool: 9.5e-6 } },
];
/** Within this multiple of the floor. */
export const FLOOR_MULTIPLE = 3;

export function readNpz(path: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, bytes] of readZip(readFileSync(path))) out.set(name.replace(/\.npy$/, ''), parseNpy(bytes, `${path}:${name}`));
  return out;
}

/** The batch normalised in float64 from the uint8 crops, as smp's reference was (channel i: ImageNet's mean and std of channel i mod 3). */
export function image64(folder: string): Float64Array {
  const u8 = readNpy(smpFixture(folder, 'train_input_2x64x64_uint8.npy'));
  const C = u8.shape.length === 4 ? u8.shape[3] : 1;
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  return Float64Array.from(u8.data, (v, i) => (v / 255 - mean[(i % C) % 3]) / std[(i % C) % 3]);
}

export interface Fixture {
  w: LoadedWeights;
  binary: boolean;
  canonical: Graph;
  /** NHWC float32, as stored. */
  image: Float32Array;
  labels: Uint32Array;
}

export async function loadFixture(folder: string): Promise<Fixture> {
  const { dir } = writeSmpFolder(folder);
  const w = await loadWeights(dir);
  rmSync(dir, { recursive: true, force: true });
  const x = readNpy(smpFixture(folder, 'train_input_2x64x64.npy'));
  const [N, , H, W] = x.shape;
  // Built without dropout, as the fixture's step ran.
  const canonical = w.buildGraph({ batch: N, height: H, width: W });
  const labels = Uint32Array.from(readNpy(smpFixture(folder, 'train_label_2x64x64.npy')).data);
  return { w, binary: w.config.binary ?? false, canonical, image: nchwToNhwc(x.data, x.shape), labels };
}

/**
 * The fixture's batch as fineTune takes it: each 64x64 crop as 8-bit bands of the model's input
 * channels (normalised by the model's own statistics: in float64, rounded once, as smp's
 * reference batch was) and its labels (0, 1 and 255: a binary model's mask as it is).
 */
export function teachSamples(folder: string): { image: BandArray; labels: Uint8Array }[] {
  const u8 = readNpy(smpFixture(folder, 'train_input_2x64x64_uint8.npy'));
  const labels = readNpy(smpFixture(folder, 'train_label_2x64x64.npy'));
  const [N, H, W] = u8.shape;
  const C = u8.shape.length === 4 ? u8.shape[3] : 1;
  return Array.from({ length: N }, (_, k) => ({
    image: { width: W, height: H, channels: C, layout: 'interleaved', data: Uint8Array.from(u8.data.subarray(k * H * W * C, (k + 1) * H * W * C)) },
    labels: Uint8Array.from(labels.data.subarray(k * H * W, (k + 1) * H * W)),
  }));
}

/** The step as outputs (loss, logits, 'grad:<name>', 'state:<name>'), its loss as the trainer builds it; `forwardNodes`: the nodes before the backward pass. */
export function outputsGraph(f: Fixture, loss: TrainingLoss) {
  const network = trainingBatchNorms(f.canonical);
  const b = GraphBuilder.extend(network);
  const logits = network.outputs.get('logits')!;
  const labels = b.input('labels', logits.shape.slice(0, 3), 'u32');
  const [l, seed] = headLoss(b, 'out', logits, labels, undefined, { ignoreIndex: 255, terms: lossTerms(loss, f.binary), binary: f.binary }, 1);
  b.output('loss', l);
  const forward = b.build();
  const wrt = network.state.filter((v) => v.role === 'param');
  const d = differentiate(forward, new Map([[logits, seed]]), wrt);
  const out = GraphBuilder.extend(d.graph);
  for (const p of wrt) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
  for (const v of network.state) if (v.role === 'statistic') out.output(`state:${v.name}`, v);
  out.output('logits', logits);
  return { graph: out.build(), forwardNodes: forward.nodes.length, params: wrt, statistics: network.state.filter((v) => v.role === 'statistic') };
}

export interface StepValues {
  loss: number;
  /** NHWC, [0, z] for a binary model; absent where the step ran inside fineTune. */
  logits?: ArrayLike<number>;
  /** PyTorch's layout, float32. */
  grads: Map<string, Float32Array>;
  stats: Map<string, ArrayLike<number>>;
}

/** A step's values from a run of outputsGraph's graph. */
export function stepValues(run: Map<string, ArrayLike<number>>, params: Value[], statistics: Value[]): StepValues {
  return {
    loss: run.get('loss')![0],
    logits: run.get('logits')!,
    grads: new Map(params.map((p) => [p.name, torchLayout(run.get(`grad:${p.name}`)!, p.shape)])),
    stats: new Map(statistics.map((v) => [v.name, run.get(`state:${v.name}`)!])),
  };
}

/** The gradients exactly 0 in exact arithmetic (train_loss.json). */
export function zeros(folder: string): Set<string> {
  return new Set(JSON.parse(readFileSync(smpFixture(folder, 'train_loss.json'), 'utf8')).pytorch_float32_vs_reference.grads_exactly_zero);
}

/** Our step against another step's values (every gradient whole), the gradients exactly 0 in exact arithmetic checked absolutely. */
export function compareWithRun(got: StepValues, ref: StepValues, zeros: Set<string>) {
  const typical = median([...ref.grads.values()].map((g) => norm(g)));
  const errors: { name: string; err: number }[] = [];
  let diff2 = 0;
  let ref2 = 0;
  for (const [name, want] of ref.grads) {
    const ours = got.grads.get(name);
    expect(ours, `a gradient for ${name}`).to.not.equal(undefined);
    for (let i = 0; i < want.length; i++) {
      diff2 += (ours![i] - want[i]) ** 2;
      ref2 += want[i] ** 2;
    }
    if (zeros.has(name)) expect(norm(ours!), `${name}: 0 in exact arithmetic`).to.be.lessThan(1e-4 * typical);
    else errors.push({ name, err: relativeError(ours!, want) });
  }
  let stats = { name: '-', err: 0 };
  for (const [name, want] of ref.stats) {
    const err = relativeError(got.stats.get(name)!, want);
    if (err > stats.err) stats = { name, err };
  }
  return {
    loss: Math.abs(got.loss - ref.loss) / Math.abs(ref.loss),
    logits: got.logits && ref.logits ? relativeError(got.logits, ref.logits) : NaN,
    globalGrad: Math.sqrt(diff2 / ref2),
    errors,
    worst: errors.reduce((a, e) => (e.err > a.err ? e : a)),
    stats,
  };
}

/** smp's float64 loss of the step (train_loss.json). */
export const referenceLoss = (folder: string): number => JSON.parse(readFileSync(smpFixture(folder, 'train_loss.json'), 'utf8')).loss;

/** BatchNorm2d's eps in smp's MobileNetV2 and decoders. */
export const BN_EPS = 1e-5;

export interface Traced {
  /** float64's step with our side of every kink and our image-pooling input. */
  reference: StepValues;
  flips: KinkFlip[];
  pool: { name: string; drift: number; halfDiffs: number[] };
}

/**
 * float64's step traced to a float32 run: `ours(layer, f64)` gives that run's input to each
 * ReLU/ReLU6 (by node name), `imagePool` its image-pooling batch norm's input (one, by value name).
 */
export function tracedFloat64(f: Fixture, loss: TrainingLoss, folder: string, ours: (layer: string, f64: ArrayLike<number>) => ArrayLike<number>, imagePool: ReadonlyMap<string, Float32Array>): Traced {
  const { graph, params, statistics } = outputsGraph(f, loss);
  const { hook: kinks, flips } = followKinks(graph.nodes, ours);
  expect(imagePool.size, 'image-pooling batch norms').to.equal(1);
  const [[name, pool32]] = imagePool;
  let pool = { name, drift: 0, halfDiffs: [] as number[] };
  const hold = holdValues(imagePool);
  const traced: ValueHook = (v, data) => {
    if (v.name === name) {
      // Our input against float64's: its relative drift, and float64's half-difference of the two images' values per channel ([2, 1, 1, C]).
      const C = data.length / 2;
      pool = { name, drift: relativeError(pool32, data), halfDiffs: Array.from({ length: C }, (_, c) => Math.abs(data[c] - data[C + c]) / 2) };
    }
    hold(v, data);
    kinks(v, data);
  };
  const reference = stepValues(runGraphCpu(graph, asF64(f.w.params), { image: image64(folder), labels: f.labels }, traced), params, statistics);
  return { reference, flips, pool };
}

/**
 * A float32 step's gradients and running statistics against float64's step traced to it, each
 * within FLOOR_MULTIPLE x the floor, and what the trace took from the float32 run float32-close:
 * each flipped element moved by drift (not a kernel's error: PyTorch's layers drift up to 3e-5 of
 * their scale), and the image pooling's input within FLOOR_MULTIPLE x PyTorch float32's drift
 * there. Prints the measurements under `what`.
 */
export function expectTraced(got: StepValues, t: Traced, floor: Floor, folder: string, what: string): ReturnType<typeof compareWithRun> {
  const matched = compareWithRun(got, t.reference, zeros(folder));
  const x = (v: number, fl: number): string => `${(v / fl).toFixed(1)}x`;
  const sensitive = t.pool.halfDiffs.filter((d) => d < 3 * Math.sqrt(BN_EPS));
  console.log(
    `      (${what}: kinks our float32 forward flips against float64's: ${t.flips.length ? t.flips.map(describeFlip).join('; ') : 'none'})\n` +
      `      (${what}: image pooling: ${t.pool.name}'s input ${t.pool.drift.toExponential(1)} from float64's = ${x(t.pool.drift, floor.imagePool)} PyTorch float32's; ` +
      `half-differences of its two values below 3 sqrt(eps) in ${sensitive.length} channels, down to ${Math.min(...t.pool.halfDiffs).toExponential(1)})\n` +
      `      (${what} against float64's step traced: grads global ${x(matched.globalGrad, floor.globalGrad)}, worst of ${matched.errors.length} ${x(matched.worst.err, floor.worstGrad)} (${matched.worst.name}), ` +
      `running stats ${x(matched.stats.err, floor.stats)} (${matched.stats.name}) the floor)`,
  );
  const tol = (v: number): number => FLOOR_MULTIPLE * v;
  for (const k of t.flips) expect(Math.abs(k.f32 - k.f64), describeFlip(k)).to.be.lessThan(1e-4 * k.rms);
  expect(t.pool.drift, `${t.pool.name} (the image-pooling batch norm's input)`).to.be.lessThan(tol(floor.imagePool));
  expect(matched.globalGrad, `${what}: gradients (global), traced`).to.be.lessThan(tol(floor.globalGrad));
  for (const e of matched.errors) expect(e.err, `${what}: gradient ${e.name}, traced`).to.be.lessThan(tol(floor.worstGrad));
  expect(matched.stats.err, `${what}: running statistic ${matched.stats.name}, traced`).to.be.lessThan(tol(floor.stats));
  return matched;
}
