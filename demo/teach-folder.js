// The teach mode's data-set folders: a folder chosen or dropped (in any format `deeplab train`
// reads) opened in the page, its first images replacing those on the page with their labels
// painted (editable with the brush), and its classes to paint and train.
import { PAGE_DATASET_FORMATS, datasetFromFiles, filesFromDataTransfer } from '/deeplab.js';
import { guarded, status } from '/demo.js';
import { dropZone } from '/drop-zone.js';
import { addRgb, clearItems } from '/teach-paint.js';
import { paintStroke, refreshClassPicker } from '/teach.js';

const $ = (id) => document.getElementById(id);
/**
 * How many images of a folder teach mode takes (its first, in the format's order): each is a
 * canvas on the page and fineTune cycles over them; `deeplab train` is for whole data sets.
 */
const MAX_FOLDER_IMAGES = 12;

/**
 * `classes`: a loaded folder's ({ classes, names, palette, text }) while the class field still
 * shows them (`text`); `load`: the last folder's loading, for the test hooks.
 */
export const folder = { classes: null, load: null };

/**
 * A data-set folder's files (chosen or dropped): its split opened as `deeplab train` opens it,
 * its first images replacing the ones on the page with their labels painted (editable with the
 * brush), and its classes to paint and train.
 */
async function loadFolder(files) {
  status(`reading the folder (${files.length} files)…`);
  const split = $('teach-split').value.trim() || undefined;
  const format = $('teach-format').value || undefined;
  const data = await datasetFromFiles(files, { split, format, maxImages: MAX_FOLDER_IMAGES });
  clearItems();
  const names = data.classes.names;
  folder.classes = { classes: data.classes, names, palette: Uint8Array.from(data.classes.colors.flat()), text: names.join(', ') };
  $('teach-classes').value = folder.classes.text;
  data.samples.forEach((sample, k) => addRgb(sample.image, data.ids[k], paintStroke, sample.labels));
  await refreshClassPicker();
  const kept =
    data.images > data.samples.length
      ? `its first ${data.samples.length} of ${data.images} images (teach mode takes at most ${MAX_FOLDER_IMAGES}; deeplab train takes them all)`
      : `its ${data.images} image${data.images === 1 ? '' : 's'}`;
  status(`${data.dir}: ${data.format}, split '${data.split}' (splits: ${data.splits.join(', ')}): ${kept}, labelled, ${names.length} classes; edit the labels or Train`);
  return data;
}

for (const f of PAGE_DATASET_FORMATS) $('teach-format').append(new Option(f, f));
const onFolder = (files) => {
  folder.load = guarded(loadFolder)(files);
  folder.load.catch(() => {}); // shown on the page; the test hooks await it themselves
};
$('teach-folder').addEventListener('change', (e) => {
  const files = [...e.target.files];
  e.target.value = '';
  onFolder(files);
});
dropZone($('teach-drop'), (data) => {
  // The dropped entries are taken now: the DataTransfer is readable only during the event.
  const files = filesFromDataTransfer(data);
  folder.load = guarded(async () => loadFolder(await files))();
  folder.load.catch(() => {});
});
