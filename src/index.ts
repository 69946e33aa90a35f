// Public entry point of the library.
export { loadModel, DeepLabModel, PAPER_SCALES } from './model/model.js';
export type { LoadOptions, SegmentOptions, SegmentResult, SegmentOutput, InputPolicy } from './model/model.js';
export { REGISTRY, DEFAULT_MODEL, findModel } from './model/registry.js';
export type { RegistryEntry } from './model/registry.js';
export { defaultConfig } from './model/config.js';
export { describeModel } from './model/describe.js';
export type { DeepLabConfig, BackboneName } from './model/config.js';
export { VOC_CLASSES, VOC_PALETTE } from './model/voc.js';
export { GpuContext } from './gpu/context.js';
export { decodeImage, readImage } from './io/image.js';
export type { RgbImage } from './io/image.js';
export { encodeIndexedPng, readIndexedPng } from './io/png-indexed.js';
export { overlayPalette, encodeRgbPng } from './io/overlay.js';
export { ConfusionMatrix } from './eval/metrics.js';
export { GraphBuilder } from './graph/builder.js';
export { Executor } from './graph/executor.js';
export { listVocSplit, evaluateVoc, formatScoresTable } from './eval/voc.js';
export type { VocItem, VocScores } from './eval/voc.js';
