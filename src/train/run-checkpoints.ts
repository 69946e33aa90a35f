// A run's checkpoints: latest.safetensors (the weights, the optimizer's momentum buffers and the
// step; --resume continues from it) and best.safetensors (the weights of the best validation
// mIoU so far), each written atomically. A checkpoint that cannot be written, or a GPU device
// lost, stops the run with an error naming the step and what the folder still holds.
import { join } from 'node:path';
import { type GpuContext, GpuError } from '../gpu/context.js';
import { type LoadedWeights, saveCheckpoint } from '../model/loading/load-weights.js';
import type { DeepLabModel } from '../model/model.js';
import { LATEST } from './fine-tune-checkpoint.js';
import type { RunOptions } from './run-options.js';
import type { Trainer } from './trainer.js';

export { LATEST };
export const BEST = 'best.safetensors';

export class RunCheckpoints {
  readonly latestPath: string;
  readonly bestPath: string;

  constructor(
    /** The run's GPU context (null on the CPU, where no device is lost). */
    private readonly ctx: GpuContext | null,
    private readonly weights: LoadedWeights,
    private readonly options: RunOptions,
    /** The step latest.safetensors holds (null: none of this run or the one it resumes). */
    public savedStep: number | null,
  ) {
    this.latestPath = join(options.out, LATEST);
    this.bestPath = join(options.out, BEST);
  }

  /** Writes the model's weights as they are on the GPU (and to latest, the momentum buffers) with the training state. */
  async save(path: string, model: DeepLabModel, trainer: Trainer, bestMIoU: number | null): Promise<void> {
    const params = await model.parameters();
    const { momentum } = await trainer.checkpointState();
    // Reads from a device lost part-way may be zeros: never let them replace a checkpoint.
    this.ctx?.assertAlive(`saving ${path}`);
    try {
      saveCheckpoint(path, this.weights, params, {
        tensors: path.endsWith(LATEST) ? momentum : undefined,
        metadata: { training: JSON.stringify({ step: trainer.stepsDone, bestMIoU, options: this.options }) },
      });
    } catch (e) {
      throw new Error(`step ${trainer.stepsDone}: could not write the checkpoint ${path}; the previous one is as it was (${(e as Error).message})`, { cause: e });
    }
    if (path === this.latestPath) this.savedStep = trainer.stepsDone;
  }

  /** What --resume continues from, for an error that stops the run. */
  resumeNote(): string {
    return this.savedStep === null ? 'no checkpoint of this run was written' : `${this.latestPath} holds step ${this.savedStep}: --resume continues from there`;
  }

  /** A lost device as the step's error (`stepNow`: null before the first), saying what --resume continues from. */
  deviceLostError(e: unknown, stepNow: number | null): GpuError {
    const saved = this.resumeNote();
    const what = e instanceof GpuError && e.kind === 'device-lost' ? e.message : `GPU device lost (${this.ctx?.lostReason}): ${String(e)}`;
    const error = new GpuError(`${stepNow === null ? 'before the first step' : `step ${stepNow}`}: ${what}; ${saved}`, 'device-lost');
    error.cause = e;
    return error;
  }
}
