// torchvision's DeepLabv3 models (deeplabv3_resnet50 / _resnet101 / _mobilenet_v3_large) as
// graphs, and the conversion of their state dicts into our parameters.
//
// The graph's params carry the state-dict keys unchanged (backbone.layer1.0.conv1.weight, ...)
// so converting a checkpoint is only a layout change: conv weights OIHW -> HWIO, BN vectors as
// they are. Anything else that differs (a missing, extra or mis-shaped tensor) is left for
// checkParams to report, all at once.
import { GraphBuilder } from '../graph/builder.js';
import type { Graph, Value } from '../graph/ir.js';
import type { HostParams } from '../graph/params.js';
import { shapeString } from '../gpu/tensor.js';
import { deepLabHead, fcnHead } from './aspp.js';
import { type BackboneName, type DeepLabConfig, defaultConfig, validateConfig } from './config.js';
import { buildMobileNetV3Large } from './mobilenet-v3.js';
import { RESNET_BLOCKS, buildResNet } from './resnet.js';

/** A state dict as an importer returns it (src/model/import/pth.ts's TensorMap fits). */
export type StateDict = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;

export interface TorchvisionGraphOptions {
  /**
   * Also output 'layer4' (block4's output) and 'features' (what the head reads: the last
   * block's output, the same value as 'layer4' without cascaded blocks), for tests.
   */
  extraOutputs?: boolean;
}

/** Backbone features: `out` feeds DeepLabHead, `aux` feeds the FCN head. */
function buildBackbone(b: GraphBuilder, image: Value, cfg: DeepLabConfig): { out: Value; aux: Value; layer4: Value } {
  const prefix = 'backbone';
  switch (cfg.backbone) {
    case 'resnet50':
    case 'resnet101': {
      const f = buildResNet(b, image, {
        depth: cfg.backbone === 'resnet50' ? 50 : 101,
        outputStride: cfg.outputStride,
        dilationConvention: cfg.dilationConvention,
        multiGrid: cfg.multiGrid,
        blocks: cfg.blocks,
        atrous: cfg.atrous,
        prefix,
      });
      // torchvision's IntermediateLayerGetter: layer4 -> 'out', layer3 -> 'aux'; with
      // cascaded blocks the head reads the last one (paper Fig. 3).
      return { out: f.out, aux: f.layer3, layer4: f.layer4 };
    }
    case 'mobilenet_v3_large': {
      const f = buildMobileNetV3Large(b, image, { outputStride: cfg.outputStride, prefix });
      return { out: f.out, aux: f.aux, layer4: f.out };
    }
    case 'mobilenet_v2':
      throw new Error("torchvision has no DeepLabv3 with a mobilenet_v2 backbone: that is TF's model (use its own builder)");
  }
}

/**
 * The whole model for one input size: input 'image' [1,H,W,3] (NHWC, already normalised),
 * outputs 'logits' [1,H,W,numClasses] (upsampled to the input size), 'aux' when cfg.aux, and
 * 'layer4' / 'features' (backbone features) when opts.extraOutputs.
 */
export function buildTorchvisionDeepLab(cfg: DeepLabConfig, inputH: number, inputW: number, opts: TorchvisionGraphOptions = {}): Graph {
  validateConfig(cfg);
  for (const [name, v] of [['inputH', inputH], ['inputW', inputW]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`buildTorchvisionDeepLab: ${name} must be a positive integer, got ${v}`);
  }
  const b = new GraphBuilder();
  const image = b.input('image', [1, inputH, inputW, 3]);
  const features = buildBackbone(b, image, cfg);
  const logits = deepLabHead(b, features.out, {
    prefix: 'classifier',
    numClasses: cfg.numClasses,
    rates: cfg.asppRates,
    imagePooling: cfg.imagePooling,
    channels: cfg.asppChannels,
  });
  b.output('logits', b.resize('logits_upsample', logits, inputH, inputW, cfg.resizeMode));
  if (cfg.aux) {
    const aux = fcnHead(b, features.aux, { prefix: 'aux_classifier', numClasses: cfg.numClasses });
    b.output('aux', b.resize('aux_upsample', aux, inputH, inputW, cfg.resizeMode));
  }
  if (opts.extraOutputs) {
    b.output('layer4', features.layer4);
    b.output('features', features.out);
  }
  return b.build();
}

/** The tensor whose presence marks a torchvision DeepLabv3 checkpoint (ASPP's 1x1 branch). */
export const TORCHVISION_DEEPLAB_MARKER = 'classifier.0.convs.0.0.weight';

export function isTorchvisionDeepLab(state: StateDict): boolean {
  return state.has(TORCHVISION_DEEPLAB_MARKER) && [...state.keys()].some((k) => k.startsWith('backbone.'));
}

/** Throws a clear error for a checkpoint of some other model. */
export function assertTorchvisionDeepLab(state: StateDict, what = 'checkpoint'): void {
  if (isTorchvisionDeepLab(state)) return;
  const keys = [...state.keys()];
  const shown = keys.slice(0, 6).join(', ');
  throw new Error(
    `${what}: not a torchvision DeepLabv3 checkpoint (no ${TORCHVISION_DEEPLAB_MARKER}` +
      `${keys.some((k) => k.startsWith('backbone.')) ? '' : ' and no backbone.* tensors'}; ` +
      `it holds ${keys.length} tensors${keys.length ? `: ${shown}${keys.length > 6 ? ', ...' : ''}` : ''})`,
  );
}

/** Which backbone a torchvision DeepLabv3 state dict holds, from its key structure. */
export function detectTorchvisionBackbone(state: StateDict, what = 'checkpoint'): BackboneName {
  assertTorchvisionDeepLab(state, what);
  const keys = [...state.keys()];
  if (state.has('backbone.conv1.weight')) {
    // Blocks in layer3 tell ResNet-50 (6) from ResNet-101 (23).
    let blocks = 0;
    for (const k of keys) {
      const m = /^backbone\.layer3\.(\d+)\./.exec(k);
      if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
    }
    for (const depth of [50, 101] as const) if (RESNET_BLOCKS[depth][2] === blocks) return `resnet${depth}`;
    throw new Error(`${what}: ResNet backbone with ${blocks} blocks in layer3 is neither resnet50 (6) nor resnet101 (23)`);
  }
  if (keys.some((k) => /^backbone\.\d+\.block\./.test(k))) return 'mobilenet_v3_large';
  throw new Error(`${what}: DeepLabv3 checkpoint with an unrecognised backbone (neither backbone.conv1.* nor backbone.N.block.*)`);
}

/**
 * The config matching a checkpoint: its backbone and class count, torchvision's defaults for
 * the rest, then `overrides` (e.g. { aux: true } or another output stride).
 */
export function torchvisionConfigFromState(state: StateDict, overrides: Partial<DeepLabConfig> = {}, what = 'checkpoint'): DeepLabConfig {
  const backbone = detectTorchvisionBackbone(state, what);
  const classifier = state.get('classifier.4.weight');
  const numClasses = classifier && classifier.shape.length === 4 ? classifier.shape[0] : 21;
  return defaultConfig(backbone, { numClasses, ...overrides });
}

/** PyTorch conv weight [O,I,KH,KW] -> ours [KH,KW,I,O] (a (2,3,1,0) permutation). */
export function oihwToHwio(data: Float32Array, shape: readonly number[]): { shape: number[]; data: Float32Array } {
  if (shape.length !== 4) throw new Error(`oihwToHwio: expected a 4-D weight, got ${shapeString(shape)}`);
  const [O, I, KH, KW] = shape;
  if (data.length !== O * I * KH * KW) throw new Error(`oihwToHwio: ${data.length} values for shape ${shapeString(shape)}`);
  const out = new Float32Array(data.length);
  let src = 0;
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      for (let h = 0; h < KH; h++) {
        for (let w = 0; w < KW; w++) out[((h * KW + w) * I + i) * O + o] = data[src++];
      }
    }
  }
  return { shape: [KH, KW, I, O], data: out };
}

/**
 * A torchvision DeepLabv3 state dict as our params: conv weights to HWIO, num_batches_tracked
 * dropped, aux_classifier.* dropped unless cfg.aux; every other tensor kept as it is, so
 * checkParams reports anything the model does not declare.
 */
export function torchvisionParams(state: StateDict, cfg: DeepLabConfig, what = 'checkpoint'): HostParams {
  const found = detectTorchvisionBackbone(state, what);
  if (found !== cfg.backbone) throw new Error(`${what}: holds a ${found} DeepLabv3 but the config asks for ${cfg.backbone}`);
  const params: HostParams = new Map();
  for (const [name, t] of state) {
    if (name.endsWith('.num_batches_tracked')) continue; // BN's training step counter
    if (!cfg.aux && name.startsWith('aux_classifier.')) continue;
    params.set(name, t.shape.length === 4 ? oihwToHwio(t.data, t.shape) : { shape: [...t.shape], data: t.data });
  }
  return params;
}
