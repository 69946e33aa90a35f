// What a fine-tune learns by: the settings its schedule, crops and classifier depend on. fineTune
// takes them with its callbacks and stores (fine-tune.ts); a checkpoint keeps them as the run used
// them (the recipe's choices filled in), and a resume must find the same (fine-tune-checkpoint.ts).
// Each setting left out is the recipe's (teach-recipe.ts): 'strokes' for a few painted strokes,
// 'plain' for `deeplab train`'s augmentation and nothing else.
import type { ClassSet } from '../model/voc.js';
import type { TrainingLoss } from './loss-choice.js';

export type FineTuneRecipe = 'strokes' | 'plain';

export interface FineTuneSettings {
  /**
   * Where the settings left out come from (teach-recipe.ts, docs/training.md#teaching-from-strokes):
   * 'strokes' (the default) teaches a few painted strokes without undoing what the model knew;
   * 'plain' is `deeplab train`'s augmentation over the images as given, every parameter trained,
   * nothing distilled or held out, the last step kept (steps, crop and lr must then be given).
   */
  recipe?: FineTuneRecipe;
  /** Optimizer steps (recipe 'strokes': from the pixels painted). */
  steps?: number;
  /** Square training crop in pixels (recipe 'strokes': the image as the network sees it, up to 513). */
  crop?: number;
  /** Crops per step (default 1). */
  batch?: number;
  /** Base learning rate (the poly schedule brings it to 0 at the last step; recipe 'strokes': from the pixels painted). */
  lr?: number;
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
  /** Random scale range of the crops (recipe 'plain': [0.5, 2.0], the paper's; 'strokes': [1, 1], none). */
  scale?: [number, number];
  /** Random left-right flips (default true). */
  flip?: boolean;
  /** Train only the head (ASPP and classifier; recipe 'strokes': true, 'plain': false). */
  freezeBackbone?: boolean;
  /**
   * The images taught at the size the network sees them ('network': resized as segment() resizes
   * them, the strokes kept) or as given ('image'). Recipe 'strokes': 'network'; 'plain': 'image'.
   */
  sampleSize?: 'network' | 'image';
  /** Crops centred on the strokes, each painted class in turn ('strokes'), or anywhere ('anywhere', `deeplab train`'s). */
  cropAt?: 'strokes' | 'anywhere';
  /**
   * Weight of the distillation term: cross-entropy, over the pixels nobody painted, against the
   * classes the starting model gives them (Learning without Forgetting, with hard targets), so what
   * the model knew is kept where the user said nothing. 0 turns it off (recipe 'plain').
   */
  distill?: number;
  /**
   * The share of the strokes held out of teaching (whole strokes, at least one per class kept),
   * on which the run is judged every `evalEvery` steps; 0 holds none out (recipe 'plain').
   */
  holdOut?: number;
  /**
   * How much the classes painted are balanced in the strokes' cross-entropy (the held-out strokes'
   * alike): each class's pixels weigh (1 / its pixels painted)^balance, so at 1 each class weighs
   * the same however many pixels it has (as mIoU counts each class once), at 0 each pixel weighs
   * the same (recipe 'plain').
   */
  balance?: number;
  /** Steps between measures of the held-out strokes (and the last step, and before the first). */
  evalEvery?: number;
  /**
   * The weights returned, of the steps measured on the held-out strokes (before the first
   * included) whose loss on them is not above the start's: 'best', the step whose segment()
   * labels them best (mIoU), the least loss of equals; 'least-loss', the step of least loss on
   * them plus, where the run distils, the loss of the pixels nobody painted against the starting
   * model's classes (each a mean over its pixels: the step whose gain on the held-out strokes is
   * more than it moved elsewhere, the drift weighed by the starting model's recall of the classes
   * painted); or the 'last' step. Default: recipe 'strokes', 'best' where 15 % or more of the
   * pixels is painted or a class the model lacks, and 'least-loss' where less is; recipe 'plain',
   * 'last'.
   */
  keep?: 'best' | 'least-loss' | 'last';
  /** Batch norms with their running statistics (default true: a few small crops give no usable batch statistics). */
  freezeBn?: boolean;
  /** The heads' dropout (default false: over a few steps its noise would hide the loss's trend). */
  dropout?: boolean;
  /** Fixes the crops and the new classifier's initialisation. */
  seed?: number;
}
