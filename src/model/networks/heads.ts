// DeepLab's heads, one record per family (config `head`), as backbones are records: how each puts
// its layers on a backbone's features and names their parameters. deepLabHeads
// (src/model/networks/deeplab.ts) asks the config's record; nothing else names a head family.
import type { GraphBuilder } from '../../graph/builder.js';
import { deepLabHead, fcnHead } from './aspp.js';
import type { DeepLabConfig, HeadName } from './config-types.js';
import { HEAD_NAMES } from './config-types.js';
import type { BackboneFeatures, HeadOptions } from './deeplab-types.js';
import { deepLabV3PlusHead } from './decoder.js';
import { mmsegAsppHead, mmsegFcnHead, mmsegSepAsppHead } from './mmseg-heads.js';
import { smpHeads } from './smp-heads.js';
import { vainfHead } from './vainf-heads.js';
import { tfDeepLabHead } from './tf-head.js';

export interface HeadRecord {
  name: HeadName;
  /** Its name in prose, for messages. */
  title: string;
  /** Whether DeepLabv3+'s decoder exists in this family. */
  decoder: boolean;
  /** Whether it builds the auxiliary FCN head (config `aux`). */
  aux: boolean;
  /** Its layers on `features`: the outputs 'logits' (and 'aux') of `b`, resized to height x width. */
  build(b: GraphBuilder, features: BackboneFeatures, cfg: DeepLabConfig, size: { height: number; width: number }, opts: HeadOptions): void;
}

const TORCHVISION: HeadRecord = {
  name: 'torchvision',
  title: "torchvision's DeepLabHead",
  decoder: true,
  aux: true,
  build(b, features, cfg, { height, width }, opts) {
    const head = { prefix: 'classifier', numClasses: cfg.numClasses, rates: cfg.asppRates, imagePooling: cfg.imagePooling, channels: cfg.asppChannels, dropout: opts.dropout };
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
  },
};

const MMSEG: HeadRecord = {
  name: 'mmseg',
  title: "mmsegmentation's ASPPHead (DepthwiseSeparableASPPHead with the DeepLabv3+ decoder)",
  decoder: true,
  aux: true,
  build(b, features, cfg, { height, width }, opts) {
    // mmseg's EncoderDecoder: decode_head on the last stage (DeepLabv3+'s also on the first),
    // auxiliary_head on the one before the last.
    const head = { prefix: 'decode_head', numClasses: cfg.numClasses, rates: cfg.asppRates, channels: cfg.asppChannels, dropout: opts.dropout };
    const logits =
      cfg.decoder === 'deeplabv3plus'
        ? mmsegSepAsppHead(b, features.out, features.lowLevel, { ...head, resizeMode: cfg.resizeMode, c1Channels: cfg.c1Channels })
        : mmsegAsppHead(b, features.out, head);
    b.output('logits', b.resize('logits_upsample', logits, height, width, cfg.resizeMode));
    if (cfg.aux) {
      const aux = mmsegFcnHead(b, features.aux, { prefix: 'auxiliary_head', numClasses: cfg.numClasses, channels: cfg.auxChannels, dropout: opts.dropout });
      b.output('aux', b.resize('aux_upsample', aux, height, width, cfg.resizeMode));
      if (opts.extraOutputs) b.output('aux_raw', aux);
    }
    if (opts.extraOutputs) {
      b.output('logits_raw', logits);
      b.output('layer4', features.layer4);
      b.output('features', features.out);
    }
  },
};

const SMP: HeadRecord = {
  name: 'smp',
  title: "segmentation_models_pytorch's DeepLabV3 / DeepLabV3Plus decoder",
  decoder: true,
  aux: false,
  build(b, features, cfg, size, opts) {
    b.output('logits', smpHeads(b, features, cfg, size, { dropout: opts.dropout }));
    if (opts.extraOutputs) {
      b.output('layer4', features.layer4);
      b.output('features', features.out);
    }
  },
};

const VAINF: HeadRecord = {
  name: 'vainf',
  title: "VainF's DeepLabHead / DeepLabHeadV3Plus",
  decoder: true,
  aux: false,
  build(b, features, cfg, { height, width }, opts) {
    // _SimpleSegmentationModel: the head's logits resized to the input (align_corners false).
    const logits = vainfHead(b, features, cfg, { dropout: opts.dropout });
    b.output('logits', b.resize('logits_upsample', logits, height, width, cfg.resizeMode));
    if (opts.extraOutputs) {
      b.output('layer4', features.layer4);
      b.output('features', features.out);
    }
  },
};

const TF: HeadRecord = {
  name: 'tf',
  title: "TF DeepLab's ASPP and decoder (model.py)",
  decoder: true,
  aux: false,
  build(b, features, cfg, { height, width }, opts) {
    const logits = tfDeepLabHead(b, features, cfg, { dropout: opts.dropout });
    b.output('logits', b.resize('logits/resize', logits, height, width, cfg.resizeMode));
    if (opts.extraOutputs) {
      b.output('logits_raw', logits);
      b.output('layer4', features.layer4);
      b.output('features', features.out);
    }
  },
};

export const HEAD_RECORDS: Readonly<Record<HeadName, HeadRecord>> = { torchvision: TORCHVISION, mmseg: MMSEG, smp: SMP, vainf: VAINF, tf: TF };

/** The record of a head family; an unknown name is an error naming the known ones. */
export function headRecord(name: string, what = 'head'): HeadRecord {
  if (!(HEAD_NAMES as readonly string[]).includes(name)) throw new Error(`${what}: '${name}' is not one of ${HEAD_NAMES.join(', ')}`);
  return HEAD_RECORDS[name as HeadName];
}
