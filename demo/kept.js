// The demo's kept models: the models taught and kept in this browser (keepModel), listed with their
// classes, the model they were taught from, when they were kept and their size; each can be used
// (chosen in the model list, to segment with or teach further), exported in any of the formats
// `deeplab export` writes (a download), or deleted. The storage line says how much this site
// uses and whether the browser keeps it when space runs low (its answer to persistStorage()).
import { PAGE_EXPORT_FORMATS, deleteKeptModel, exportKeptModel, keptModels } from '/deeplab.js';
import { guarded, refreshModels, served, status } from '/demo.js';

const $ = (id) => document.getElementById(id);
const EXPORT_TITLES = {
  checkpoint: 'our checkpoint (.safetensors)',
  safetensors: "torchvision's state dict",
  onnx: 'ONNX',
  hf: 'Hugging Face folder (zip)',
  smp: 'smp folder (zip)',
  'transformers-js': 'transformers.js folder (zip)',
};

/** The storage line: what this site uses, and the browser's answer to persistent storage. */
export async function showStorage(answer) {
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  const used = estimate?.usage !== undefined ? `This site uses ${(estimate.usage / 1e6).toFixed(1)} MB of ${(estimate.quota / 1e9).toFixed(1)} GB the browser allows. ` : '';
  const kept = answer?.persisted
    ? 'The browser keeps it until you clear it (persistent storage).'
    : answer?.asked
      ? 'The browser declined persistent storage: it may clear kept models and runs when space runs low.'
      : 'Kept models and runs may be cleared by the browser when space runs low, until it grants persistent storage (asked when you keep one).';
  $('storage-state').textContent = used + kept;
}

/** Offers `file` ({ fileName, bytes, type }) as a download. */
function download(file) {
  const url = URL.createObjectURL(new Blob([file.bytes], { type: file.type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: file.fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** One kept model's row: its facts and its actions. */
function row(k) {
  const tr = document.createElement('tr');
  const cell = (text) => Object.assign(document.createElement('td'), { textContent: text });
  const classes = k.classNames.length > 4 ? `${k.classNames.length}: ${k.classNames.slice(0, 4).join(', ')}, …` : k.classNames.join(', ');
  const actions = Object.assign(document.createElement('div'), { className: 'actions' });
  const use = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Use' });
  use.setAttribute('aria-label', `Use ${k.name}`);
  use.addEventListener('click', () => {
    window.deeplabDemo.chooseModel(`kept:${k.name}`);
    $('model').dispatchEvent(new Event('change'));
    status(`${k.name} chosen: segment an image, or teach it further`);
  });
  const format = document.createElement('select');
  format.setAttribute('aria-label', `Export format for ${k.name}`);
  for (const f of PAGE_EXPORT_FORMATS) format.append(new Option(EXPORT_TITLES[f] ?? f, f));
  const exportButton = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Export' });
  exportButton.setAttribute('aria-label', `Export ${k.name}`);
  exportButton.addEventListener('click', () =>
    guarded(async () => {
      status(`exporting ${k.name} as ${EXPORT_TITLES[format.value]}…`);
      const file = await exportKeptModel(k.name, format.value);
      download(file);
      status(`${file.fileName}: ${(file.bytes.length / 2 ** 20).toFixed(1)} MiB`);
    })().catch(() => {}),
  );
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Delete' });
  remove.setAttribute('aria-label', `Delete ${k.name}`);
  remove.addEventListener('click', () =>
    guarded(async () => {
      await deleteKeptModel(k.name);
      await refreshKept();
      status(`deleted ${k.name}`);
    })().catch(() => {}),
  );
  actions.append(use, format, exportButton, remove);
  const actionsCell = document.createElement('td');
  actionsCell.append(actions);
  tr.append(cell(k.name), cell(classes), cell(k.base ?? '–'), cell(new Date(k.date).toLocaleString()), cell(`${(k.bytes / 2 ** 20).toFixed(1)} MiB`), actionsCell);
  return tr;
}

/** The list (and the model picker's kept group) as the browser's storage holds them now. */
export async function refreshKept() {
  const kept = await keptModels();
  $('kept-list').replaceChildren(...kept.map(row));
  $('kept-empty').hidden = kept.length > 0;
  await refreshModels(served(), kept);
  return kept;
}

const ready = guarded(async () => {
  await window.deeplabDemo.ready;
  await Promise.all([refreshKept(), showStorage(null)]);
})();
Object.assign(window.deeplabDemo, {
  keptReady: ready,
  /** The kept models as the page lists them. */
  keptList: async () => {
    await ready;
    return [...$('kept-list').rows].map((r) => [...r.cells].slice(0, 5).map((c) => c.textContent));
  },
});
