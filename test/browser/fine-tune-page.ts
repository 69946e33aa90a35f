// The page side of the fineTune agreement test (fine-tune-page.test.ts): an smp training fixture's
// folder loaded by the page's loadModel from its URL, fine-tuned one step by the page's fineTune
// (the two crops as 8-bit bands, no augmentation, plain SGD), its update read back as the
// gradient; then, for the float64 trace the test builds in Node, the same step as the trainer
// builds it run once more with the values the trace takes from our forward as outputs (the
// ReLU/ReLU6 inputs near a kink, the image-pooling batch norm's input). And an ONNX file's step
// the same way (onnxFineTuneStep). Bundled by the test with the browser build's plugin.
import { GpuContext, fineTune, loadModel } from '../../src/browser/index.js';
import { compile } from '../../src/graph/compile.js';
import type { ActivationOp } from '../../src/graph/ops/elementwise.js';
import { Program } from '../../src/graph/program.js';
import { adapterClass } from '../../src/kernels/candidates.js';
import { Session } from '../../src/graph/session.js';
import type { TrainingLoss } from '../../src/train/loss-choice.js';
import { updateGradients, updateRounding } from '../train/sgd-update.js';
import { probedStep } from '../train/smp-step-graph.js';
import { nearKinks } from '../train/relu-nodes.js';

export interface PageStepRequest {
  /** The folder's URL (ending in '/'). */
  url: string;
  loss: TrainingLoss;
  lr: number;
  /** The crops as 8-bit bands [N, H, W, C] (base64), their labels [N, H, W] (base64). */
  bands: string;
  labels: string;
  shape: [number, number, number, number];
  /** The batch normalised as smp's reference was: float32 NHWC (base64), what the probed step runs on. */
  image: string;
  /** The gradients exactly 0 in exact arithmetic (left out of the rounding bound). */
  exactZeros: string[];
}

export interface PageStepResult {
  /** The adapter class the page's kernels were chosen for. */
  adapter: string;
  loss: number;
  lr: number;
  /** Each parameter's gradient (-update / lr), PyTorch's layout, float32 (base64); each statistic after the step. */
  grads: [string, string][];
  stats: [string, string][];
  rounding: { name: string; bound: number };
  /** Per ReLU/ReLU6 node: our input's elements near a kink. */
  near: [string, { index: number[]; value: number[] }][];
  /** The image-pooling batch norm's input (by value name), float32 (base64). */
  imagePool: [string, string][];
}

declare global {
  interface Window {
    smpFineTuneStep(r: PageStepRequest): Promise<PageStepResult>;
  }
}

const bytes = (b64: string): Uint8Array => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const floats = (b64: string): Float32Array => {
  const b = bytes(b64);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
function base64(a: ArrayLike<number>): string {
  const f = a instanceof Float32Array ? a : Float32Array.from(a);
  const b = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  let text = '';
  for (let i = 0; i < b.length; i += 0x8000) text += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(text);
}

/** A batch [N, H, W, C] of interleaved bands and its labels [N, H, W] as fineTune's samples, one per crop; with the step's options (one plain SGD step, no augmentation, batch statistics). */
function oneStep<T extends Uint8Array | Float32Array>(bands: T, labels: Uint8Array, [N, H, W, C]: [number, number, number, number], lr: number) {
  const samples = Array.from({ length: N }, (_, k) => ({
    image: { width: W, height: H, channels: C, layout: 'interleaved' as const, data: bands.slice(k * H * W * C, (k + 1) * H * W * C) as T },
    labels: labels.slice(k * H * W, (k + 1) * H * W),
  }));
  const options = { recipe: 'plain' as const, steps: 1, crop: H, batch: N, lr, momentum: 0, weightDecay: 0, scale: [1, 1] as [number, number], flip: false, freezeBn: false };
  return { samples, options };
}

/**
 * The page's one device, tuning off, for every step it is asked for: a page that loads several
 * models keeps one, and each model's kernels compile once.
 */
let pageContext: Promise<GpuContext> | undefined;
const pageCtx = (): Promise<GpuContext> => (pageContext ??= GpuContext.create({ tune: 'off' }));

window.smpFineTuneStep = async (r) => {
  const ctx = await pageCtx();
  const model = await loadModel(r.url, { ctx });
  try {
    const [N, H, W] = r.shape;
    const labels = bytes(r.labels);
    const { samples, options } = oneStep(bytes(r.bands), labels, r.shape, r.lr);
    const before = await model.parameters();
    const steps: { loss: number; lr: number }[] = [];
    const o = { ...options, loss: r.loss };
    const tuned = await fineTune(model, samples, { ...o, onStep: (s) => void steps.push(s) });
    let result: Pick<PageStepResult, 'grads' | 'stats' | 'rounding'>;
    const w = model.loadedWeights;
    const canonical = w.buildGraph({ batch: N, height: H, width: W });
    const params = canonical.state.filter((v) => v.role === 'param');
    const statistics = canonical.state.filter((v) => v.role === 'statistic');
    try {
      const after = await tuned.parameters();
      const update = updateGradients(before, after, r.lr, params, statistics);
      result = {
        grads: [...update.grads].map(([name, g]) => [name, base64(g)]),
        stats: [...update.stats].map(([name, s]) => [name, base64(s)]),
        rounding: updateRounding(before, after, params, new Set(r.exactZeros)),
      };
    } finally {
      tuned.dispose();
    }
    // The trainer's step again, with the trace's values as outputs, on the weights before the step.
    const { graph, relus, held } = probedStep(canonical, r.loss, w.config.binary ?? false);
    const session = Session.create(ctx, canonical, before, 'probed step');
    try {
      const program = await Program.create(ctx, compile(graph, { mode: 'training' }), session, 'probed step');
      try {
        const out = await program.run({ image: floats(r.image), labels: Uint32Array.from(labels) });
        const near = relus.map((n): [string, { index: number[]; value: number[] }] => [n.name, nearKinks(out.get(`relu:${n.name}`) as Float32Array, (n.op as ActivationOp).attrs.activation === 'relu6')]);
        const imagePool = held.map((v): [string, string] => [v.name, base64(out.get(`held:${v.name}`) as Float32Array)]);
        return { adapter: adapterClass(ctx), loss: steps[0].loss, lr: steps[0].lr, ...result, near, imagePool };
      } finally {
        program.dispose();
      }
    } finally {
      session.dispose();
    }
  } finally {
    model.dispose();
  }
};

export interface OnnxStepRequest {
  /** The ONNX file's URL. */
  url: string;
  /** The file's preprocessing (its meta.json), as loadModel takes it for an ONNX file. */
  mean: number[];
  std: number[];
  lr: number;
  /** The batch as the network is fed, float32 NHWC (base64), and its labels [N, H, W] (base64). */
  input: string;
  labels: string;
  shape: [number, number, number, number];
}

export type OnnxStepResult = Pick<PageStepResult, 'adapter' | 'loss' | 'lr' | 'grads' | 'stats' | 'rounding'>;

declare global {
  interface Window {
    onnxFineTuneStep(r: OnnxStepRequest): Promise<OnnxStepResult>;
  }
}

// An ONNX file loaded by the page's loadModel from its URL and fine-tuned one plain SGD step by
// the page's fineTune: the batch handed over as float bands already normalised (mean 0, std 1 in
// fineTune's options), batch statistics, no augmentation; its update read back as the gradient.
window.onnxFineTuneStep = async (r) => {
  const ctx = await pageCtx();
  const model = await loadModel(r.url, { ctx, mean: r.mean, std: r.std });
  try {
    const [N, H, W, C] = r.shape;
    const { samples, options } = oneStep(floats(r.input), bytes(r.labels), r.shape, r.lr);
    const before = await model.parameters();
    const steps: { loss: number; lr: number }[] = [];
    const o = { ...options, mean: Array(C).fill(0), std: Array(C).fill(1) };
    const tuned = await fineTune(model, samples, { ...o, onStep: (s) => void steps.push(s) });
    try {
      const canonical = model.loadedWeights.buildGraph({ batch: N, height: H, width: W });
      const params = canonical.state.filter((v) => v.role === 'param');
      const statistics = canonical.state.filter((v) => v.role === 'statistic');
      const after = await tuned.parameters();
      const update = updateGradients(before, after, r.lr, params, statistics);
      return {
        adapter: adapterClass(ctx),
        loss: steps[0].loss,
        lr: steps[0].lr,
        grads: [...update.grads].map(([name, g]) => [name, base64(g)]),
        stats: [...update.stats].map(([name, s]) => [name, base64(s)]),
        rounding: updateRounding(before, after, params, new Set()),
      };
    } finally {
      tuned.dispose();
    }
  } finally {
    model.dispose();
  }
};
