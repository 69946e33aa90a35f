// The browser entry point (the bundle dist/browser/deeplab.js): the same kernels, graph and
// models as in Node, with weights and images from the page. Only I/O differs:
// scripts/build-browser.mjs swaps the Node modules for file access, image decoding, shader
// loading and the GPU for the ones in this folder.
export { loadModel } from './load.js';
export type { WeightsSource, BrowserLoadOptions } from './load.js';
export { imageToRgb, decodeImageBytes } from './images.js';
export type { BrowserImage } from './images.js';
export { drawOverlay, overlayPng, overlayImage, classesFound } from './overlay.js';
export { SegmentationWorker } from './worker-client.js';
export type { WorkerImage, LoadedModelInfo, WorkerSegmentResult, TaughtModelInfo, WorkerFineTuneCallOptions } from './worker-client.js';
export { segmentStream } from './stream.js';
export type { StreamLoop, StreamOptions, StreamFrameInfo } from './stream.js';
export { OverlayRenderer } from '../gpu/overlay-renderer.js';
export { DeepLabModel, PAPER_SCALES } from '../model/model.js';
export type { SegmentOptions, SegmentResult, SegmentOutput, ImageInput, FrameInput, ExternalFrame, ModelMemory } from '../model/model.js';
export { detectWeightFormat, weightsFromBytes } from '../model/loading/weights-from-bytes.js';
export { fineTune, UNLABELLED } from '../train/fine-tune.js';
export type { TeachSample, FineTuneOptions, FineTuneStep, FineTuneReport } from '../train/fine-tune.js';
export type { TeachSettings } from '../train/teach-recipe.js';
export { correctionsFromLabels, strokesFromLabels, STROKE_PATTERNS } from '../train/stroke-patterns.js';
export type { CorrectionOptions, StrokePattern, StrokePatternOptions } from '../train/stroke-patterns.js';
export { splitStrokes } from '../train/stroke-split.js';
export { lastCheckpoint } from '../train/fine-tune-checkpoint.js';
export type { CheckpointInfo, StoredFineTuneOptions } from '../train/fine-tune-checkpoint.js';
export type { FineTuneSettings } from '../train/fine-tune-settings.js';
export { StorageFullError } from '../train/run-store.js';
export type { CheckpointStoreRef } from '../train/run-store.js';
export type { StepRecord } from '../train/step-log.js';
export { TRAINING_LOSSES } from '../train/loss-choice.js';
export type { TrainingLoss } from '../train/loss-choice.js';
export { datasetFromFiles } from './dataset-files.js';
export { PAGE_DATASET_FORMATS } from '../data/formats/registry.js';
export type { DatasetFilesOptions, FolderDataset } from './dataset-files.js';
export { filesFromDataTransfer, filesFromEntries } from './dropped-entries.js';
export type { FolderFile, DroppedEntry } from './dropped-entries.js';
export { checkpointBytes } from '../model/checkpoint-bytes.js';
export { keepModel, keptModels, keptModelBytes, loadKeptModel, exportKeptModel, deleteKeptModel, persistStorage, KEPT_MODELS_DIR } from './kept-models.js';
export type { KeptModel } from './kept-models.js';
export { exportModel, PAGE_EXPORT_FORMATS } from './export-model.js';
export type { ExportedFile, PageExportFormat, PageTfliteOptions } from './export-model.js';
export { REGISTRY, DEFAULT_MODEL } from '../model/loading/registry.js';
export { VOC_CLASSES, VOC_PALETTE } from '../model/voc.js';
export { GpuContext } from '../gpu/context.js';
export { useCpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
export type { RgbImage } from '../io/rgb-image.js';
export { readIndexedPng } from '../io/png-indexed.js';
export type { BandArray } from '../io/band-image.js';
