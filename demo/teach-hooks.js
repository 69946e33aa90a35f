// What the browser tests drive on the teach mode (window.deeplabDemo.teach*): the same functions
// as the buttons and the brush (teach.js), with the form set from the test's settings, and the
// results read back: losses, timings, the figures of teach-report.js, and the taught model's
// logits on a probe image.
import { UNLABELLED } from '/deeplab.js';
import { guarded } from '/demo.js';
import { setForm, imageDataOf } from '/teach-form.js';
import { clearItems, items } from '/teach-paint.js';
import { folder } from '/teach-folder.js';
import * as teach from '/teach.js';
import { addImage, addSample, fetchBlob, keepTaught, offerResume, paintPattern, paintStroke, ready, resumeRun, train, undoTeach } from '/teach.js';

const $ = (id) => document.getElementById(id);

function toBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** The result the tests read: losses and time, the pixels labelled per image, and with `probe` the taught model's logits on it. */
async function resultOf({ losses, seconds, trainedFrom, trainedAt, figures }, probe) {
  const result = { losses, seconds, trainedFrom, trainedAt, figures, painted: items.map((i) => i.labels.filter((c) => c !== UNLABELLED).length) };
  if (probe) {
    const rgb = { width: probe.width, height: probe.height, data: fromBase64(probe.data) };
    const { logits } = await teach.teachWorker.segment(imageDataOf(rgb), { logits: true });
    result.logits = toBase64(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  }
  return result;
}

/**
 * Sets the form (`loss`: one of TRAINING_LOSSES, default 'ce'; `every`: the checkpoint interval;
 * what is not given, the recipe's) and trains: the losses and time, the figures (teach-report.js),
 * the pixels labelled per image, and with `probe` ({ width, height, data: base64 RGB }) the taught
 * model's logits on it (base64 float32, [h, w, classes]).
 */
async function trainAsSet({ recipe = 'strokes', steps, crop, batch, lr, seed = 0, augment = true, loss = 'ce', every = 5, probe }) {
  setForm({ recipe, steps, crop, batch, lr, seed, augment, loss, every });
  return resultOf(await train(), probe);
}

Object.assign(window.deeplabDemo, {
  teachReady: ready,
  /**
   * Teaches as a user would: adds each image (a URL: a served file, or a data: URL of a file's bytes; a name), paints its strokes ({ class, radius,
   * points: [[x, y], ...] }), sets the form and trains (trainAsSet).
   */
  teach: guarded(async ({ images, classes = '', ...settings }) => {
    await ready;
    clearItems();
    $('teach-classes').value = classes;
    for (const { url, name = url.split('/').pop(), strokes } of images) {
      const item = await addImage(await fetchBlob(url), name);
      for (const s of strokes) await paintStroke(item, s.class, s.radius, s.points);
    }
    return trainAsSet(settings);
  }),
  /**
   * Teaches a served sample as a user trying it would: adds it (`sample`: its file name), paints
   * strokes of `pattern` from its labels, sets the form and trains (trainAsSet).
   */
  teachSample: guarded(async ({ sample, pattern, ...settings }) => {
    await ready;
    clearItems();
    $('teach-classes').value = '';
    await addSample(sample);
    await paintPattern(pattern);
    return trainAsSet(settings);
  }),
  /** Undoes the last teach, as the Undo button does: the model it was taught from, its info. */
  undoTeach: guarded(undoTeach),
  /**
   * The last folder loaded (chosen or dropped): its summary and the images' labels as the page
   * holds them (base64), or its error.
   */
  teachFolder: async () => {
    const data = await folder.load;
    const { dir, format, split, splits, images } = data;
    return { dir, format, split, splits, images, classes: data.classes, items: items.map((i) => ({ name: i.name, width: i.rgb.width, height: i.rgb.height, labels: toBase64(i.labels) })) };
  },
  /** Trains on the images as they are on the page (a folder's, or painted), with these settings. */
  teachAsIs: guarded(async (settings) => trainAsSet(settings)),
  /** The unfinished run the page offers to resume ({ step, steps, model, images }), or null. */
  unfinishedRun: async () => {
    await ready;
    return $('resume-offer').hidden ? null : offerResume();
  },
  /** Resumes the kept run as the Resume button does; the result has every step's loss, the kept ones first. */
  resumeRun: guarded(async (probe) => resultOf(await resumeRun(), probe)),
  /** Keeps the last taught model under `name`, as the Keep button does. */
  keepTaught: guarded(keepTaught),
  /** Segments the image at `url` with the last taught model in the teach worker (its class map). */
  segmentTaught: async (url) => Array.from((await teach.teachWorker.segment(await fetchBlob(url))).classes),
});
