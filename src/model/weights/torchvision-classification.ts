// torchvision's ImageNet classification checkpoints (resnet50, resnet101, mobilenet_v3_large)
// as the backbone of a DeepLabv3: recognising them, and taking their tensors for our backbone.
//
// torchvision's segmentation models wrap (part of) the classification network in an
// IntermediateLayerGetter under `backbone`, so our graph's `backbone.*` names (the
// segmentation checkpoint's) map onto the classification state dict's keys under a prefix
// each backbone's record gives (checked in the tests against state dicts torchvision wrote);
// the classification head is dropped:
//  - ResNet: the whole network is wrapped, `backbone.<key>` is `<key>`: `conv1`, `bn1`,
//    `layer1..4`; `fc.*` is dropped (the global pool has no parameters);
//  - MobileNetV3-Large: only its `features` Sequential is wrapped, `backbone.N.*` is
//    `features.N.*`: all of features.0..16 (torchvision taps the last, features[16], for the
//    head), nothing of it left out; `classifier.*` (two Linear layers) is dropped.
// BatchNorm's `num_batches_tracked` counters are not parameters and are dropped too (older
// checkpoints have none).
import type { Graph } from '../../graph/ir.js';
import { type HostParams, ParamMismatchError, storedState } from '../../graph/params.js';
import { BACKBONE_RECORDS, backboneRecords } from '../backbones/registry.js';
import { countIndexed } from '../backbones/state-keys.js';
import type { BackboneName } from '../networks/config.js';
import { oihwToHwio } from './layouts.js';
import { TORCHVISION_DEEPLAB_MARKER, type StateDict } from './torchvision.js';
import { checkFloatWeight, checkVariance } from './weight-checks.js';

/** A backbone torchvision builds DeepLabv3 on from a classification network (its record has that source). */
export type ClassificationBackbone = BackboneName;

export const CLASSIFICATION_BACKBONES: readonly ClassificationBackbone[] = backboneRecords()
  .filter((r) => r.weights.torchvisionClassification)
  .map((r) => r.name);

/** The prefix our graphs give backbone parameters (torchvision's segmentation state dict's). */
const GRAPH_PREFIX = 'backbone.';

/** The record's classification source: the prefix standing for our `backbone.`, and the head's. */
function classificationSource(backbone: ClassificationBackbone): { filePrefix: string; headPrefix: string } {
  const source = BACKBONE_RECORDS[backbone].weights.torchvisionClassification;
  if (!source) throw new Error(`${backbone}: torchvision builds no DeepLabv3 on a classification ${backbone} (expected one of ${CLASSIFICATION_BACKBONES.join(', ')})`);
  return source;
}

const EXPECTED =
  "torchvision's resnet50 or resnet101 (conv1.*, bn1.*, layer1.0.conv1.weight, ..., fc.*) " +
  'or mobilenet_v3_large (features.0.0.weight, features.1.block.0.0.weight, ..., classifier.*)';

/** The first few keys of a state dict, for an error message. */
function someKeys(state: StateDict): string {
  const keys = [...state.keys()];
  if (keys.length === 0) return 'no tensors';
  return `${keys.length} tensors: ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}`;
}

/**
 * Which classification network a state dict holds, from its keys; an error that says what the
 * file is instead (a segmentation checkpoint, a ResNet of another depth, MobileNetV3-Small, ...).
 */
export function detectClassificationBackbone(state: StateDict, what = 'backbone weights'): ClassificationBackbone {
  if (state.has(TORCHVISION_DEEPLAB_MARKER) || [...state.keys()].some((k) => k.startsWith(GRAPH_PREFIX))) {
    throw new Error(
      `${what}: a DeepLabv3 segmentation checkpoint (backbone.* and classifier.* tensors), not a classification one; ` +
        'start from it with --model (the library: model) instead',
    );
  }
  const found = backboneRecords().find((r) => r.weights.torchvisionClassification?.holds(state));
  if (found) return found.name;
  // What the file is instead, to say so.
  if (state.has('conv1.weight') && state.has('layer1.0.conv1.weight')) {
    if (!state.has('layer1.0.conv3.weight')) {
      throw new Error(`${what}: a ResNet of basic blocks (resnet18 or resnet34: no layer1.0.conv3); torchvision builds DeepLabv3 on resnet50 and resnet101 only`);
    }
    const blocks = countIndexed(state, 'layer3.');
    const named = blocks === 36 ? ' (resnet152)' : '';
    throw new Error(`${what}: a ResNet with ${blocks} blocks in layer3${named}; DeepLabv3 takes resnet50 (6) or resnet101 (23)`);
  }
  if (state.has('features.0.0.weight')) {
    if (state.has('features.1.conv.0.0.weight') || state.has('features.1.conv.0.weight')) {
      throw new Error(`${what}: torchvision's mobilenet_v2 (features.N.conv.*), which it builds no DeepLabv3 on; use mobilenet_v3_large`);
    }
    const features = countIndexed(state, 'features.');
    if (features === 13) throw new Error(`${what}: mobilenet_v3_small (features.0..12), which torchvision builds no DeepLabv3 on; use mobilenet_v3_large`);
  }
  throw new Error(`${what}: not a torchvision classification state dict we know; expected ${EXPECTED}; it holds ${someKeys(state)}`);
}

/** A graph's 4-D weight shape as PyTorch stores it: ours [KH,KW,I,O] -> [O,I,KH,KW]. */
function torchShape(shape: readonly number[]): number[] {
  return shape.length === 4 ? [shape[3], shape[2], shape[0], shape[1]] : [...shape];
}

export interface ClassificationBackboneParams {
  /** The graph's backbone parameters and statistics (`backbone.*`), in our layouts. */
  params: HostParams;
  /** The file's tensors that a DeepLabv3 does not use (the classification head, BN counters). */
  dropped: string[];
}

/**
 * The backbone parameters of `graph` (a DeepLabv3 on `backbone`) from a classification state
 * dict: `backbone.<key>` is the file's `<key>` (ResNets) or `features.<key>` (MobileNetV3),
 * conv weights OIHW -> HWIO, each value checked (weight-checks.ts). Every missing,
 * unexpected and mis-shaped tensor is reported in one error, with the file's names and shapes.
 */
export function classificationBackboneParams(state: StateDict, graph: Graph, backbone: ClassificationBackbone, what = 'backbone weights'): ClassificationBackboneParams {
  const { filePrefix, headPrefix: head } = classificationSource(backbone);
  const params: HostParams = new Map();
  const missing: string[] = [];
  const misShaped: ParamMismatchError['misShaped'] = [];
  const used = new Set<string>();
  for (const v of storedState(graph)) {
    if (!v.name.startsWith(GRAPH_PREFIX)) continue;
    const key = filePrefix + v.name.slice(GRAPH_PREFIX.length);
    const t = state.get(key);
    const expected = torchShape(v.shape);
    if (!t) {
      missing.push(key);
      continue;
    }
    used.add(key);
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      misShaped.push({ name: key, expected, got: t.shape });
      continue;
    }
    checkFloatWeight(key, t, what);
    if (key.endsWith('.running_var')) checkVariance(key, t.data, what);
    params.set(v.name, t.shape.length === 4 ? oihwToHwio(t.data, t.shape) : { shape: [...t.shape], data: t.data });
  }
  const dropped: string[] = [];
  const unexpected: string[] = [];
  for (const key of state.keys()) {
    if (used.has(key)) continue;
    if (key.startsWith(head) || key.endsWith('.num_batches_tracked')) dropped.push(key);
    else unexpected.push(key);
  }
  if (missing.length || unexpected.length || misShaped.length) {
    throw new ParamMismatchError(missing, unexpected, misShaped, `${what} (as torchvision's ${backbone} classification state dict)`);
  }
  return { params, dropped };
}
