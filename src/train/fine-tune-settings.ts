// What a fine-tune learns by: the settings its schedule, crops and classifier depend on. fineTune
// takes them with its callbacks and stores (fine-tune.ts); a checkpoint keeps them, and a resume
// must find the same (fine-tune-checkpoint.ts).
import type { ClassSet } from '../model/voc.js';
import type { TrainingLoss } from './loss-choice.js';

export interface FineTuneSettings {
  /** Optimizer steps. */
  steps: number;
  /** Square training crop (pixels). */
  crop: number;
  /** Crops per step (default 1). */
  batch?: number;
  /** Base learning rate (the poly schedule brings it to 0 at the last step). */
  lr: number;
  warmup?: number;
  momentum?: number;
  weightDecay?: number;
  /**
   * A new class list (names, or names and colours): a new classifier, as `deeplab train` makes
   * for a data set's classes. Default: the model's classes, refined.
   */
  classes?: ClassSet | readonly string[];
  /**
   * The loss (default 'ce'): 'ce', 'dice', 'ce+dice', and for a binary model (smp's classes 1)
   * 'bce' and 'bce+dice', the loss smp's binary models are trained with (src/train/loss-choice.ts).
   */
  loss?: TrainingLoss;
  /**
   * The images' per-channel mean and std, one per input channel, as segment() takes them: needed
   * for 16-bit and float bands; 8-bit input takes the model's own without them.
   */
  mean?: readonly number[];
  std?: readonly number[];
  /** Random scale range of the crops (default [0.5, 2.0], the paper's; [1, 1] turns it off). */
  scale?: [number, number];
  /** Random left-right flips (default true). */
  flip?: boolean;
  /** Train only the head (ASPP and classifier). */
  freezeBackbone?: boolean;
  /** Batch norms with their running statistics (default true: a few small crops give no usable batch statistics). */
  freezeBn?: boolean;
  /** The heads' dropout (default false: over a few steps its noise would hide the loss's trend). */
  dropout?: boolean;
  /** Fixes the crops and the new classifier's initialisation. */
  seed?: number;
}
