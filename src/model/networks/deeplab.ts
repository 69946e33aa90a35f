// DeepLab's heads on a backbone's features: torchvision's (ASPP and the FCN auxiliary head) or
// mmseg's, with DeepLabv3+'s decoder at stride 4 (src/model/networks/decoder.ts), and the logits
// resized to the input. buildDeepLab (src/model/backbones/network.ts) builds the backbone from its
// record and puts these on it. The graph is canonical (nothing fused): src/graph/compile.ts
// prepares it for inference or training.
import type { GraphBuilder } from '../../graph/builder.js';
import type { Value } from '../../graph/ir.js';
import { deepLabHead, fcnHead } from './aspp.js';
import type { DeepLabConfig } from './config.js';
import { deepLabV3PlusHead } from './decoder.js';
import { mmsegAsppHead, mmsegFcnHead } from './mmseg-heads.js';

export interface NetworkSize {
  /** Images per pass (default 1). */
  batch?: number;
  height: number;
  width: number;
}

/** The features the heads read. */
export interface BackboneFeatures {
  /** What ASPP reads (the last block's output). */
  out: Value;
  /** What the auxiliary FCN head reads. */
  aux: Value;
  /** Block4's output ('layer4' of extraOutputs; `out` without cascaded blocks). */
  layer4: Value;
  /** The stride-4 features DeepLabv3+'s decoder reads. */
  lowLevel: Value;
}

export interface HeadOptions {
  /** DeepLabv3+'s decoder with depthwise-separable convolutions (as on MobileNets). */
  separableDecoder: boolean;
  /** Also output 'layer4' and 'features'; mmseg heads add 'logits_raw' and 'aux_raw' (src/model/backbones/network.ts's NetworkOptions). */
  extraOutputs?: boolean;
  /** Training: the heads' dropout, seeded by the u32 input 'dropout_seed'. */
  dropout?: boolean;
}

/** The heads `cfg` names on `features`, their logits (and 'aux') as outputs of `b`, resized to height x width. */
export function deepLabHeads(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, size: { height: number; width: number }, opts: HeadOptions): void {
  const { height, width } = size;
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
    return;
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
      ? deepLabV3PlusHead(b, features.out, features.lowLevel, { ...head, separable: opts.separableDecoder, resizeMode: cfg.resizeMode })
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
}
