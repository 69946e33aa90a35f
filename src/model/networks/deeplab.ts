// The one way to build a DeepLabv3 network: any configuration, at a given batch and input size.
//
// Input 'image' [N,H,W,3] (NHWC, already normalised as the config says), output 'logits'
// [N,H,W,numClasses] (upsampled to the input size); 'aux' when cfg.aux (torchvision's FCN
// head), and 'layer4' / 'features' (backbone features) when opts.extraOutputs. With
// cfg.decoder 'deeplabv3plus' the logits come from DeepLabv3+'s decoder at stride 4
// (src/model/networks/decoder.ts). The graph is canonical (nothing fused): src/graph/compile.ts
// prepares it for inference or training.
import { GraphBuilder } from '../../graph/builder.js';
import type { Graph } from '../../graph/ir.js';
import type { Architecture } from '../backbones/backbone.js';
import { backboneRecord, backboneRecords } from '../backbones/registry.js';
import { deepLabHead, fcnHead } from './aspp.js';
import { type DeepLabConfig, validateConfig } from './config.js';
import { deepLabV3PlusHead } from './decoder.js';
import { mmsegAsppHead, mmsegFcnHead } from './mmseg-heads.js';

export interface NetworkSize {
  /** Images per pass (default 1). */
  batch?: number;
  height: number;
  width: number;
}

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
  const { height, width } = size;
  const b = new GraphBuilder();
  const image = b.input('image', [batch, height, width, 3]);
  const record = backboneRecord(cfg.backbone);
  const build = { architecture: opts.architecture ?? record.architecture.default, dropout: opts.dropout };
  if (record.network.kind === 'whole') {
    // A network with its own head (TF's MobileNetV2 DeepLab) has no taps for ours.
    if (cfg.aux || opts.extraOutputs) throw new Error(`buildDeepLab: ${record.title} has no auxiliary head or extra outputs`);
    b.output('logits', record.network.build(b, image, cfg, build));
    return b.build();
  }
  const features = record.network.build(b, image, cfg, build);
  if (cfg.head === 'mmseg') {
    // mmseg's EncoderDecoder: decode_head on stage 4, auxiliary_head on stage 3.
    const logits = mmsegAsppHead(b, features.out, { prefix: 'decode_head', numClasses: cfg.numClasses, rates: cfg.asppRates, channels: cfg.asppChannels, dropout: opts.dropout });
    b.output('logits', b.resize('logits_upsample', logits, height, width, cfg.resizeMode));
    if (cfg.aux) {
      const aux = mmsegFcnHead(b, features.aux, { prefix: 'auxiliary_head', numClasses: cfg.numClasses, dropout: opts.dropout });
      b.output('aux', b.resize('aux_upsample', aux, height, width, cfg.resizeMode));
      if (opts.extraOutputs) b.output('aux_raw', aux);
    }
    if (opts.extraOutputs) {
      b.output('logits_raw', logits);
      b.output('layer4', features.layer4);
      b.output('features', features.out);
    }
    return b.build();
  }
  const head = {
    prefix: 'classifier',
    numClasses: cfg.numClasses,
    rates: cfg.asppRates,
    imagePooling: cfg.imagePooling,
    channels: cfg.asppChannels,
    dropout: opts.dropout,
  };
  const logits =
    cfg.decoder === 'deeplabv3plus'
      ? deepLabV3PlusHead(b, features.out, features.lowLevel, { ...head, separable: record.separableDecoder, resizeMode: cfg.resizeMode })
      : deepLabHead(b, features.out, head);
  b.output('logits', b.resize('logits_upsample', logits, height, width, cfg.resizeMode));
  if (cfg.aux) {
    const aux = fcnHead(b, features.aux, { prefix: 'aux_classifier', numClasses: cfg.numClasses, dropout: opts.dropout });
    b.output('aux', b.resize('aux_upsample', aux, height, width, cfg.resizeMode));
  }
  if (opts.extraOutputs) {
    b.output('layer4', features.layer4);
    b.output('features', features.out);
  }
  return b.build();
}

/** Whether a parameter belongs to a backbone (torchvision's and mmseg's `backbone.*`, TF's `MobilenetV2/*`): its record says. */
export function isBackboneParam(name: string): boolean {
  return backboneRecords().some((r) => r.ownsParam(name));
}
