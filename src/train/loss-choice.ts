// The training losses a run can choose (`deeplab train --loss`, TrainOptions.loss): softmax
// cross-entropy (the default), BCE (a binary model's: cross-entropy on its [0, z] logits is
// BCE-with-logits on z), smp's soft Dice, and the sums smp users train with (CE + Dice,
// BCE + Dice), each term weighing 1. Dice's sums run over a pass's images: with micro-batches,
// each micro-batch's Dice (scaled by 1 / micro-batches), not one over the whole batch.

export const TRAINING_LOSSES = ['ce', 'bce', 'dice', 'ce+dice', 'bce+dice'] as const;
export type TrainingLoss = (typeof TRAINING_LOSSES)[number];

/** Which terms a step's loss sums. */
export interface LossTerms {
  crossEntropy: boolean;
  dice: boolean;
}

/** The terms of `loss` (default 'ce') for a model that is binary or not; throws naming a value it cannot take. */
export function lossTerms(loss: string | undefined, binary: boolean): LossTerms {
  const name = loss ?? 'ce';
  if (!(TRAINING_LOSSES as readonly string[]).includes(name)) throw new Error(`loss must be one of ${TRAINING_LOSSES.join(', ')}, got '${name}'`);
  if (name.startsWith('bce') && !binary) throw new Error(`loss '${name}': BCE is a binary model's loss (smp classes 1); this model has several classes: use '${name.slice(1)}'`);
  return { crossEntropy: name !== 'dice', dice: name.endsWith('dice') };
}
