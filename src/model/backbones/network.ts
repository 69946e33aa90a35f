// The one way to build a DeepLabv3 network: any configuration, at a given batch and input size.
// The backbone's record builds its network (src/model/backbones/backbone.ts); DeepLab's heads go
// on its features (src/model/networks/deeplab.ts), or it brings its own head.
//
// Input 'image' [N,H,W,3] (NHWC, already normalised as the config says), output 'logits'
// [N,H,W,numClasses] (upsampled to the input size); 'aux' when cfg.aux (torchvision's FCN
// head), and 'layer4' / 'features' (backbone features) when opts.extraOutputs. With
// cfg.decoder 'deeplabv3plus' the logits come from DeepLabv3+'s decoder at stride 4. The graph
// is canonical (nothing fused): src/graph/compile.ts prepares it for inference or training.
import { GraphBuilder } from '../../graph/builder.js';
import type { Graph } from '../../graph/ir.js';
import type { DeepLabConfig } from '../networks/config.js';
import { type NetworkSize, deepLabHeads } from '../networks/deeplab.js';
import type { Architecture } from './backbone.js';
import { validateConfig } from './config.js';
import { backboneRecord, backboneRecords } from './registry.js';

export interface NetworkOptions {
  /** The backbone's architecture, as its record read it from the weights (the record's default when not given). */
  architecture?: Architecture;
  /**
   * Also output 'layer4' (block4's output) and 'features' (what the head reads: the last
   * block's output, the same value as 'layer4' without cascaded blocks), for tests; mmseg heads
   * add 'logits_raw' and 'aux_raw', the heads' logits before the resize to the input.
   */
  extraOutputs?: boolean;
  /**
   * Training: the heads' dropout (torchvision's 0.5 after the ASPP projection and 0.1 in the FCN
   * head; TF's 0.1 after the concat projection), seeded by the u32 input 'dropout_seed'.
   */
  dropout?: boolean;
}

export function buildDeepLab(cfg: DeepLabConfig, size: NetworkSize, opts: NetworkOptions = {}): Graph {
  validateConfig(cfg);
  const batch = size.batch ?? 1;
  for (const [name, v] of [['batch', batch], ['height', size.height], ['width', size.width]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`buildDeepLab: ${name} must be a positive integer, got ${v}`);
  }
  const b = new GraphBuilder();
  const image = b.input('image', [batch, size.height, size.width, cfg.inChannels ?? 3]);
  const record = backboneRecord(cfg.backbone);
  const build = { architecture: opts.architecture ?? record.architecture.default, dropout: opts.dropout };
  if (record.network.kind === 'whole') {
    // A network with its own head (TF's MobileNetV2 DeepLab) has no taps for ours.
    if (cfg.aux || opts.extraOutputs) throw new Error(`buildDeepLab: ${record.title} has no auxiliary head or extra outputs`);
    b.output('logits', record.network.build(b, image, cfg, build));
    return b.build();
  }
  const features = record.network.build(b, image, cfg, build);
  deepLabHeads(b, features, cfg, size, { separableDecoder: record.separableDecoder, extraOutputs: opts.extraOutputs, dropout: opts.dropout });
  return b.build();
}

/** Whether a parameter belongs to a backbone (torchvision's and mmseg's `backbone.*`, TF's `MobilenetV2/*`): its record says. */
export function isBackboneParam(name: string): boolean {
  return backboneRecords().some((r) => r.ownsParam(name));
}
