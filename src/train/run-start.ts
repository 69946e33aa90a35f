// What a run starts from: the checkpoint it resumes (its weights, momentum buffers, step and best
// score), or the weights of a new run (a model with a new classifier for the data's classes, or
// a DeepLabv3 head on a classification backbone).
import { existsSync } from 'node:fs';
import type { HostParams } from '../graph/params.js';
import { type LoadedWeights, loadWeights } from '../model/loading/load-weights.js';
import { readSafetensors } from '../model/weights/import/safetensors.js';
import type { ClassSet } from '../model/voc.js';
import { adaptWeights } from './adapt.js';
import { loadBackboneWeights } from './from-backbone.js';
import type { RunOptions } from './run-options.js';

/** The output stride a run trains at unless told (the paper's training stride). */
export const DEFAULT_OUTPUT_STRIDE = 16;

/** What a resumed run continues with. */
export interface ResumeState {
  step: number;
  momentum: HostParams;
  bestMIoU: number | null;
}

/** The weights and training state of the checkpoint at `latestPath` (--resume). */
export async function resumeFrom(latestPath: string, o: RunOptions, say: (message: string) => void): Promise<{ weights: LoadedWeights; resume: ResumeState }> {
  if (!existsSync(latestPath)) throw new Error(`--resume: no ${latestPath} to resume from`);
  const weights = await loadWeights(latestPath, { outputStride: o.outputStride });
  if (o.decoder !== undefined && o.decoder !== weights.config.decoder) {
    throw new Error(`--resume: ${latestPath} holds a model with decoder '${weights.config.decoder}', not '${o.decoder}'`);
  }
  const { tensors, metadata } = readSafetensors(latestPath);
  const state = JSON.parse(metadata.training ?? 'null') as { step: number; bestMIoU: number | null } | null;
  if (!state) throw new Error(`--resume: ${latestPath} holds no training state`);
  const momentum: HostParams = new Map();
  for (const [k, t] of tensors) if (k.endsWith('#momentum')) momentum.set(k, { shape: [...t.shape], data: t.data });
  say(`resuming ${latestPath} at step ${state.step}`);
  return { weights, resume: { step: state.step, momentum, bestMIoU: state.bestMIoU } };
}

/** The weights a new run trains: its starting weights adapted to the data's classes, stride and decoder. */
export async function newRunWeights(o: RunOptions, classes: ClassSet, seed: number, say: (message: string) => void): Promise<LoadedWeights> {
  const base = await startingWeights(o, classes, seed, say);
  const adapted = adaptWeights(base, { classes, outputStride: o.outputStride ?? DEFAULT_OUTPUT_STRIDE, decoder: o.decoder, seed });
  const weights = adapted.weights;
  const what = [
    classes.names.length !== base.config.numClasses || adapted.reinitialised.some((n) => !/^decoder[./]/.test(n)) ? `new classifier for ${classes.names.length} classes` : '',
    weights.config.decoder !== base.config.decoder ? `new ${weights.config.decoder} decoder on ${base.name}` : '',
  ].filter(Boolean);
  if (adapted.reinitialised.length) say(`${what.join(' and ')}: ${adapted.reinitialised.join(', ')} initialised afresh`);
  return weights;
}

/** The weights a new run starts from: a model (`o.model`), or a DeepLabv3 on a classification backbone (`o.backboneWeights`). */
async function startingWeights(o: RunOptions, classes: ClassSet, seed: number, say: (message: string) => void): Promise<LoadedWeights> {
  if (o.backboneWeights === undefined) {
    if (o.backbone !== undefined) throw new Error('training: backbone names the network of backboneWeights, and none was given');
    if (o.model === undefined) throw new Error('training: give the weights to start from (model, or backboneWeights)');
    return loadWeights(o.model, { download: true });
  }
  if (o.model !== undefined) throw new Error(`training: give model or backboneWeights, not both (model ${o.model}, backboneWeights ${o.backboneWeights})`);
  const outputStride = o.outputStride ?? DEFAULT_OUTPUT_STRIDE;
  const { weights, backbone, dropped, initialised } = loadBackboneWeights(o.backboneWeights, { backbone: o.backbone, classes, outputStride, seed });
  const head = dropped.filter((k) => !k.endsWith('.num_batches_tracked'));
  say(
    `backbone: torchvision's ${backbone} from ${o.backboneWeights} (its classification head ${head.join(', ') || '(none)'} dropped); ` +
      `a new DeepLabv3 head for ${classes.names.length} classes at output stride ${outputStride}, ASPP rates ${weights.config.asppRates.join(', ')}: ` +
      `${initialised.length} tensors initialised as PyTorch initialises layers`,
  );
  return weights;
}
