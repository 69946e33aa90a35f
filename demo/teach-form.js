// The teach mode's form: the training settings read and checked (an empty field is the recipe's
// choice: fineTune's defaults for teaching from strokes), put back (a resumed run's), and the
// loss curve and progress line drawn after each step.
import { drawLossCurve } from '/loss-curve.js';

const $ = (id) => document.getElementById(id);

/** A setting of the form, checked; empty: the recipe's (undefined). */
function setting(id, what, isValid) {
  if ($(id).value.trim() === '') return undefined;
  const value = Number($(id).value);
  if (!isValid(value)) throw new Error(`teach: ${what} must be ${isValid.rule}, got '${$(id).value}'`);
  return value;
}
const positiveInt = Object.assign((v) => Number.isInteger(v) && v >= 1, { rule: 'a positive whole number' });
const positive = Object.assign((v) => Number.isFinite(v) && v > 0, { rule: 'a positive number' });

/** The form's settings, checked. */
export function formSettings() {
  return {
    steps: setting('teach-steps', 'steps', positiveInt),
    crop: setting('teach-crop', 'the crop', positiveInt),
    batch: setting('teach-batch', 'the batch', positiveInt),
    lr: setting('teach-lr', 'the learning rate', positive),
    seed: Number($('teach-seed').value) || 0,
    // Any of deeplab train's losses; 'bce' and 'bce+dice' for a binary model (smp classes 1).
    loss: $('teach-loss-choice').value || 'ce',
    // Without augmentation every crop is taken at the image's scale, unflipped.
    augment: $('teach-augment').checked,
    every: setting('teach-every', 'the checkpoint interval', positiveInt) ?? 5,
    recipe: $('teach-recipe').value || 'strokes',
  };
}

/** Puts settings back into the form. */
export function setForm(s) {
  const fields = { 'teach-steps': s.steps, 'teach-crop': s.crop, 'teach-batch': s.batch, 'teach-lr': s.lr, 'teach-seed': s.seed ?? 0, 'teach-loss-choice': s.loss ?? 'ce', 'teach-every': s.every ?? 5, 'teach-recipe': s.recipe ?? 'strokes' };
  for (const [id, v] of Object.entries(fields)) $(id).value = v === undefined ? '' : String(v);
  $('teach-augment').checked = s.augment !== false;
}

/** RGB as ImageData, for the worker. */
export function imageDataOf(rgb) {
  const out = new ImageData(rgb.width, rgb.height);
  for (let p = 0; p < rgb.width * rgb.height; p++) {
    out.data[4 * p] = rgb.data[3 * p];
    out.data[4 * p + 1] = rgb.data[3 * p + 1];
    out.data[4 * p + 2] = rgb.data[3 * p + 2];
    out.data[4 * p + 3] = 255;
  }
  return out;
}

/** The curve and the progress line after each step. */
export function showStep(losses, steps) {
  drawLossCurve($('teach-loss'), losses, steps);
  $('teach-bar').max = steps;
  $('teach-bar').value = losses.length;
  $('teach-progress').textContent = losses.length ? `step ${losses.length}/${steps}: loss ${losses.at(-1).toFixed(4)}` : `starting: ${steps ?? 'the recipe’s'} steps`;
}
