// Every backbone's record by name (src/model/backbones/backbone.ts says what a record holds). A
// name of BACKBONE_NAMES without a record here is a compile error; `backboneRecord` is the one
// place an unknown name is refused.
import type { BackboneRecord } from './backbone.js';
import { MMSEG_MOBILENET_V2 } from './mmseg-mobilenet-v2.js';
import { MOBILENET_V2 } from './mobilenet-v2.js';
import { MOBILENET_V3_LARGE } from './mobilenet-v3-large.js';
import { type BackboneName, BACKBONE_NAMES } from '../networks/backbone-names.js';
import { MOBILEVIT } from './mobilevit.js';
import { MOBILEVITV2 } from './mobilevitv2.js';
import { RESNET101, RESNET18, RESNET50 } from './resnet.js';
import { SMP } from './smp.js';
import { VAINF_MOBILENET_V2 } from './vainf-mobilenet-v2.js';
import { XCEPTION_65 } from './xception.js';
import { TF_MOBILENET_V3_LARGE_SEG, TF_MOBILENET_V3_SMALL_SEG } from './tf-mobilenet-v3.js';
import { ONNX_NETWORK } from './onnx.js';

export const BACKBONE_RECORDS: Readonly<Record<BackboneName, BackboneRecord>> = {
  resnet18: RESNET18,
  resnet50: RESNET50,
  resnet101: RESNET101,
  mobilenet_v2: MOBILENET_V2,
  mobilenet_v3_large: MOBILENET_V3_LARGE,
  mobilevit: MOBILEVIT,
  mobilevitv2: MOBILEVITV2,
  smp: SMP,
  mmseg_mobilenet_v2: MMSEG_MOBILENET_V2,
  vainf_mobilenet_v2: VAINF_MOBILENET_V2,
  xception_65: XCEPTION_65,
  mobilenet_v3_large_seg: TF_MOBILENET_V3_LARGE_SEG,
  mobilenet_v3_small_seg: TF_MOBILENET_V3_SMALL_SEG,
  onnx: ONNX_NETWORK,
};

export function isBackboneName(name: unknown): name is BackboneName {
  return typeof name === 'string' && (BACKBONE_NAMES as readonly string[]).includes(name);
}

/** The record of a backbone; an unknown name is an error naming the known ones. */
export function backboneRecord(name: string, what = 'backbone'): BackboneRecord {
  if (!isBackboneName(name)) throw new Error(`${what}: unknown backbone '${String(name)}' (expected one of ${BACKBONE_NAMES.join(', ')})`);
  return BACKBONE_RECORDS[name];
}

/** The records in BACKBONE_NAMES' order. */
export function backboneRecords(): BackboneRecord[] {
  return BACKBONE_NAMES.map((n) => BACKBONE_RECORDS[n]);
}
