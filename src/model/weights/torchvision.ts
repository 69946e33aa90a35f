// torchvision's DeepLabv3 checkpoints (deeplabv3_resnet50 / _resnet101 / _mobilenet_v3_large):
// recognising them, and converting their state dicts into our parameters. The networks
// themselves are built by src/model/backbones/network.ts.
//
// The graph's params carry the state-dict keys unchanged (backbone.layer1.0.conv1.weight, ...)
// so converting a checkpoint is only a layout change: conv weights OIHW -> HWIO, BN vectors as
// they are. Anything else that differs (a missing, extra or mis-shaped tensor) is left for
// checkParams to report, all at once.
import type { HostParams } from '../../graph/params.js';
import { backboneRecords } from '../backbones/registry.js';
import { countIndexed } from '../backbones/state-keys.js';
import type { BackboneName, DeepLabConfig } from '../networks/config.js';
import { defaultConfig } from '../backbones/config.js';
import { RESNET_BLOCKS } from '../networks/resnet.js';
import type { SourceDType } from './import/tensor-map.js';
import { oihwToHwio } from './layouts.js';
import { checkStateDictValues } from './weight-checks.js';

/** A state dict as an importer returns it (src/model/weights/import/pth.ts's TensorMap fits). */
export type StateDict = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array; readonly sourceDType?: SourceDType }>;

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

/** Which backbone a torchvision DeepLabv3 state dict holds: the record whose torchvision recogniser takes it. */
export function detectTorchvisionBackbone(state: StateDict, what = 'checkpoint'): BackboneName {
  assertTorchvisionDeepLab(state, what);
  const found = backboneRecords().find((r) => r.weights.torchvision?.holds(state));
  if (found) return found.name;
  if (state.has('backbone.conv1.weight')) {
    // Blocks in layer3 tell ResNet-50 (6) from ResNet-101 (23).
    const blocks = countIndexed(state, 'backbone.layer3.');
    throw new Error(`${what}: ResNet backbone with ${blocks} blocks in layer3 is neither resnet50 (${RESNET_BLOCKS[50][2]}) nor resnet101 (${RESNET_BLOCKS[101][2]})`);
  }
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

/**
 * A torchvision DeepLabv3 state dict as our params (its values checked: float, finite, variances
 * not negative): conv weights to HWIO, num_batches_tracked dropped, aux_classifier.* dropped unless cfg.aux; every other tensor kept as it is, so
 * checkParams reports anything the model does not declare.
 */
export function torchvisionParams(state: StateDict, cfg: DeepLabConfig, what = 'checkpoint'): HostParams {
  const found = detectTorchvisionBackbone(state, what);
  if (found !== cfg.backbone) throw new Error(`${what}: holds a ${found} DeepLabv3 but the config asks for ${cfg.backbone}`);
  checkStateDictValues(state, what);
  const params: HostParams = new Map();
  for (const [name, t] of state) {
    if (name.endsWith('.num_batches_tracked')) continue; // BN's training step counter
    if (!cfg.aux && name.startsWith('aux_classifier.')) continue;
    params.set(name, t.shape.length === 4 ? oihwToHwio(t.data, t.shape) : { shape: [...t.shape], data: t.data });
  }
  return params;
}
