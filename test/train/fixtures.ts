// The PyTorch training fixtures (../shared/fixtures/train, README there) as our tests read them:
// the two torchvision networks with their weights and batch, layouts converted (NCHW -> NHWC,
// OIHW -> HWIO), and the gradient graph of the fixtures' loss, CE(out) + 0.5 CE(aux).
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { torchvisionConfigFromState, torchvisionParams } from '../../src/model/weights/torchvision.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { sharedPath } from '../shared.js';

export const TRAIN = sharedPath('fixtures', 'train');
export const TV = sharedPath('fixtures', 'torchvision');

export function nchwToNhwc(data: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[((b * h + y) * w + x) * c + k] = data[((b * c + k) * h + y) * w + x];
  return out;
}

/** Our gradient in the fixture's layout (OIHW for conv weights), cut to the fixture's first values. */
export function asFixture<T extends Float32Array | Float64Array>(ours: T, ourShape: readonly number[], fixtureShape: readonly number[]): T {
  const count = fixtureShape.reduce((a, b) => a * b, 1);
  if (ourShape.length !== 4) return ours.subarray(0, count) as T;
  // HWIO -> OIHW, only the first `count` values (OIHW order: o, i, h, w).
  const [KH, KW, I, O] = ourShape;
  const data = new (ours.constructor as { new (n: number): T })(count);
  for (let j = 0; j < count; j++) {
    const w = j % KW;
    const h = Math.floor(j / KW) % KH;
    const i = Math.floor(j / (KW * KH)) % I;
    const o = Math.floor(j / (KW * KH * I));
    data[j] = ours[((h * KW + w) * I + i) * O + o];
  }
  return data;
}

export interface Model {
  prefix: 'mv3' | 'r50';
  pth: string;
}

export const MODELS: Model[] = [
  { prefix: 'mv3', pth: `${TV}/deeplabv3_mobilenet_v3_large_random.pth` },
  { prefix: 'r50', pth: `${TV}/deeplabv3_resnet50_random_fp16.pth` },
];

export function setup(m: Model, frozen: boolean) {
  const state = readPth(m.pth);
  const cfg = torchvisionConfigFromState(state, { aux: true });
  const params = torchvisionParams(state, cfg);
  const input = readNpy(`${TRAIN}/${m.prefix}_input.npy`);
  const labels = readNpy(`${TRAIN}/${m.prefix}_labels.npy`);
  const [N, , H, W] = input.shape;
  const canonical = buildDeepLab(cfg, { batch: N, height: H, width: W });
  const network = frozen ? canonical : trainingBatchNorms(canonical);
  return { params, canonical, network, image: nchwToNhwc(input.data, input.shape), labels: Uint32Array.from(labels.data), N, H, W };
}

/**
 * The network with its loss and the gradients of the image and of every parameter (and of
 * `values`, intermediate values of the network, in `grads` only).
 */
export function gradientGraph(network: Graph, values: readonly Value[] = []): { graph: Graph; grads: Map<number, Value>; image: Value; params: Value[] } {
  const b = GraphBuilder.extend(network);
  const logits = network.outputs.get('logits')!;
  const [N, H, W] = logits.shape;
  const labels = b.input('labels', [N, H, W], 'u32');
  const seeds = new Map<Value, Value>();
  const losses: Value[] = [];
  // The auxiliary head's loss at half weight, where the network has one.
  for (const [name, head, scale] of [['out', logits, 1], ['aux', network.outputs.get('aux'), 0.5]] as const) {
    if (!head) continue;
    const [loss, dlogits] = b.node(`loss_${name}`, { type: 'softmax_cross_entropy', logits: head, labels, attrs: { ignoreIndex: 255, scale } });
    seeds.set(head, dlogits);
    losses.push(loss);
  }
  b.output('loss_out', losses[0]);
  if (losses[1]) b.output('loss_aux', losses[1]);
  const image = network.inputs[0];
  const params = network.state.filter((v) => v.role === 'param');
  const d = differentiate(b.build(), seeds, [image, ...params, ...values]);
  const out = GraphBuilder.extend(d.graph);
  out.output('dimage', d.grads.get(image.id)!);
  for (const p of params) if (d.grads.has(p.id)) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
  for (const v of network.state) if (v.role === 'statistic') out.output(`state:${v.name}`, v);
  return { graph: out.build(), grads: d.grads, image, params };
}

export function scalar(path: string): number {
  return readNpy(path).data[0];
}

