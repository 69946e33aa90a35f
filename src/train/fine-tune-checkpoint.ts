// fineTune's checkpoints: what a run keeps so that it can go on after a reload, a closed tab or a
// crash, in the format of a `deeplab train` run folder, so that either continues the other:
//  - latest.safetensors: our checkpoint of the weights as trained so far (loadModel, `deeplab
//    segment` and `deeplab export` read it), the SGD momentum buffers (`<param>#momentum`), and in
//    its metadata `training`: the steps done, and fineTune's settings (the schedule, the crops'
//    seed: each step's crops, flips and dropout masks follow from (seed, step), so the step is
//    all the random state there is) and the base model's name;
//  - log.jsonl: one line per step done (step-log.ts).
// The log is written before the weights: a crash between the two leaves lines past the
// checkpoint's step, which a resume drops and writes again. Each file is written whole or not at
// all by the store (run-store.ts), so a crash part-way leaves the previous checkpoint readable.
import type { HostParams } from '../graph/params.js';
import { checkpointContents } from '../model/loading/checkpoint-contents.js';
import type { LoadedWeights } from '../model/loading/loaded-weights.js';
import { weightsFromBytes } from '../model/loading/weights-from-bytes.js';
import { readSafetensors, safetensorsBytes } from '../model/weights/import/safetensors.js';
import { openCheckpointStore } from './checkpoint-store.js';
import type { FineTuneSettings } from './fine-tune-settings.js';
import type { CheckpointStore, CheckpointStoreRef } from './run-store.js';
import { STEP_LOG, type StepRecord, parseStepLog, stepLogText } from './step-log.js';

/** The checkpoint's file in a store or run folder (what `deeplab train --resume` reads). */
export const LATEST = 'latest.safetensors';

/**
 * fineTune's settings as a checkpoint keeps them (JSON; no callbacks, signals or stores): those the
 * schedule depends on, the classes as written, the loss by name, and the loss the device ran.
 */
export type StoredFineTuneOptions = Omit<FineTuneSettings, 'classes' | 'loss'> & { classes?: unknown; loss?: string; deviceLoss?: string };

/** The settings whose change makes a resumed run's losses differ from those of a run never stopped. */
export const SCHEDULE_KEYS = [
  'recipe', 'steps', 'crop', 'batch', 'lr', 'warmup', 'momentum', 'weightDecay', 'loss', 'mean', 'std', 'scale', 'flip', 'freezeBackbone', 'freezeBn', 'dropout', 'seed',
  'sampleSize', 'cropAt', 'distill', 'balance', 'holdOut', 'evalEvery', 'keep',
] as const;

/** The metadata `training` of a checkpoint: `deeplab train`'s fields (its options are its command's), and fineTune's. */
interface TrainingState {
  step: number;
  bestMIoU: number | null;
  options?: { steps?: unknown };
  fineTune?: StoredFineTuneOptions;
  base?: string;
}

/** What a store's last checkpoint holds, without its weights. */
export interface CheckpointInfo {
  /** The store, in words. */
  where: string;
  /** Steps done. */
  step: number;
  /** The steps the run was started for (null where the checkpoint does not say). */
  steps: number | null;
  /** The model's name and classes. */
  name: string;
  classNames: string[];
  /** The model the run started from (fineTune's; null for a `deeplab train` run). */
  base: string | null;
  /** The steps done, as the log has them (up to `step`). */
  log: StepRecord[];
  /** fineTune's settings (null for a `deeplab train` run, whose settings are its command's). */
  options: StoredFineTuneOptions | null;
  /** The checkpoint's size in bytes. */
  bytes: number;
}

/** A run to continue: its checkpoint's weights and momentum, with what lastCheckpoint says. */
export interface ResumedRun extends CheckpointInfo {
  weights: LoadedWeights;
  momentum: HostParams;
}

/** The checkpoint's bytes and metadata in `store`, or null where it holds none. */
async function readLatest(store: CheckpointStore): Promise<{ bytes: Uint8Array; info: CheckpointInfo; tensors: ReturnType<typeof readSafetensors>['tensors'] } | null> {
  const bytes = await store.read(LATEST);
  if (!bytes) return null;
  const source = `${store.where}/${LATEST}`;
  const { tensors, metadata } = readSafetensors(bytes, source);
  let state: TrainingState | null;
  try {
    state = JSON.parse(metadata.training ?? 'null') as TrainingState | null;
  } catch (e) {
    throw new Error(`${source}: its training state is not JSON (${(e as Error).message})`);
  }
  if (!state || !Number.isInteger(state.step) || state.step < 0) throw new Error(`${source}: holds no training state (a model's checkpoint, not a run's)`);
  const logBytes = await store.read(STEP_LOG);
  const log = logBytes ? parseStepLog(new TextDecoder().decode(logBytes), `${store.where}/${STEP_LOG}`, state.step) : [];
  let classNames: string[] = [];
  try {
    classNames = (JSON.parse(metadata.classes ?? '{}') as { names?: string[] }).names ?? [];
  } catch {
    // the weights' reader names a bad class list
  }
  const steps = state.fineTune?.steps ?? state.options?.steps;
  return {
    bytes,
    tensors,
    info: {
      where: store.where,
      step: state.step,
      steps: typeof steps === 'number' ? steps : null,
      name: metadata.name ?? 'model',
      classNames,
      base: state.base ?? null,
      log,
      options: state.fineTune ?? null,
      bytes: bytes.byteLength,
    },
  };
}

/**
 * What the last checkpoint in `store` holds (a folder path in Node; in the page an OPFS directory,
 * by handle or name): its step, the steps of the run, the model's name and classes, the base
 * model, the loss log and fineTune's settings; null where the store holds none (or does not exist).
 */
export async function lastCheckpoint(store: CheckpointStoreRef): Promise<CheckpointInfo | null> {
  let opened: CheckpointStore;
  try {
    opened = await openCheckpointStore(store, 'lastCheckpoint', false);
  } catch (e) {
    if (/: no (folder|directory) /.test((e as Error).message)) return null;
    throw e;
  }
  return (await readLatest(opened))?.info ?? null;
}

/** The run the store's checkpoint continues: its weights (read as loadModel reads a checkpoint) and momentum; null where it holds none. */
export async function readResume(store: CheckpointStore): Promise<ResumedRun | null> {
  const latest = await readLatest(store);
  if (!latest) return null;
  const source = `${store.where}/${LATEST}`;
  const weights = weightsFromBytes(latest.bytes, 'safetensors', latest.info.name, {}, source);
  const momentum: HostParams = new Map();
  for (const [k, t] of latest.tensors) if (k.endsWith('#momentum')) momentum.set(k, { shape: [...t.shape], data: t.data });
  return { ...latest.info, weights, momentum };
}

/** A checkpoint to write: the weights as trained after `step` steps, their momentum, the log so far and the run's settings. */
export interface CheckpointContents {
  weights: LoadedWeights;
  params: HostParams;
  momentum: HostParams;
  step: number;
  log: readonly StepRecord[];
  options: StoredFineTuneOptions;
  base: string;
}

/** The bytes of latest.safetensors for `c` (our checkpoint format, with the momentum and the training state). */
export function checkpointFile(c: CheckpointContents): Uint8Array {
  const training: TrainingState = { step: c.step, bestMIoU: null, fineTune: c.options, base: c.base };
  const { tensors, metadata } = checkpointContents(c.weights, c.params, { tensors: c.momentum, metadata: { training: JSON.stringify(training) } });
  return safetensorsBytes(tensors, metadata);
}

/**
 * Writes the checkpoint of `c` to `store`: the log, then the weights, each whole or not at all.
 * `previous` (the step of the store's checkpoint before, or null) is what an error says the store
 * still holds.
 */
export async function writeCheckpoint(store: CheckpointStore, c: CheckpointContents, previous: number | null): Promise<void> {
  try {
    await store.write(STEP_LOG, new TextEncoder().encode(stepLogText(c.log.filter((r) => r.step <= c.step))));
    await store.write(LATEST, checkpointFile(c));
  } catch (e) {
    const kept = previous === null ? 'no earlier checkpoint of this run was written' : `${store.where} still holds the checkpoint of step ${previous}`;
    const error = new Error(`fineTune: step ${c.step}: could not write the checkpoint (${(e as Error).message}); ${kept}`, { cause: e });
    error.name = (e as Error).name === 'QuotaExceededError' ? 'QuotaExceededError' : 'Error';
    throw error;
  }
}

/** How often fineTune keeps its run unless told: every this many steps (and when stopped, and at the end). */
export const DEFAULT_CHECKPOINT_EVERY = 10;

/** A fine-tune's checkpoints as it runs: when one is due, and writing it. */
export class FineTuneCheckpoints {
  private constructor(
    private readonly store: CheckpointStore,
    private readonly every: number,
    private readonly options: StoredFineTuneOptions,
    private readonly base: string,
    /** The step of this run's checkpoint in the store (null: none written yet). */
    private saved: number | null,
  ) {}

  /** The checkpoints of a run into `ref` every `every` steps; `resumedStep` where the run continues a checkpoint in the same store. */
  static async open(ref: CheckpointStoreRef, every: number | undefined, options: StoredFineTuneOptions, base: string, resumedStep: number | null): Promise<FineTuneCheckpoints> {
    const n = every ?? DEFAULT_CHECKPOINT_EVERY;
    if (!Number.isInteger(n) || n < 1) throw new Error(`fineTune: checkpoint.every must be a positive whole number of steps, got ${JSON.stringify(every)}`);
    return new FineTuneCheckpoints(await openCheckpointStore(ref, 'fineTune: checkpoint.store', true), n, options, base, resumedStep);
  }

  get where(): string {
    return this.store.where;
  }

  /** Whether the run is kept after `step` steps: every `every`, when it stops there, and at its end. */
  due(step: number, stopping: boolean): boolean {
    return step !== this.saved && (stopping || step % this.every === 0 || step === this.options.steps);
  }

  /** Writes the checkpoint after `step` steps (the weights and momentum as they are on the GPU). */
  async save(step: number, weights: LoadedWeights, params: HostParams, momentum: HostParams, log: readonly StepRecord[]): Promise<void> {
    await writeCheckpoint(this.store, { weights, params, momentum, step, log, options: this.options, base: this.base }, this.saved);
    this.saved = step;
  }
}
