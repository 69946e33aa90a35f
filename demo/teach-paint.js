// The teach mode's images and what is painted on them: each image a card (the photo with its
// painted classes, the taught model's segmentation beside it, a caption), the brush, and strokes
// made from a sample's own labels (bands, scribbles or clicks: the library's strokesFromLabels),
// so teaching can be tried without painting.
import { UNLABELLED, readIndexedPng, strokesFromLabels } from '/deeplab.js';

const $ = (id) => document.getElementById(id);

/** The images being labelled: { name, rgb, labels, photo (RGBA), canvas, after, info, truthUrl }. */
export const items = [];

/** The photo with the painted labels blended in their class colours, and its caption. */
export function redraw(item, palette) {
  const { width, height } = item.rgb;
  const out = new ImageData(width, height);
  out.data.set(item.photo);
  for (let p = 0; p < width * height; p++) {
    const c = item.labels[p];
    if (c === UNLABELLED) continue;
    for (let k = 0; k < 3; k++) out.data[4 * p + k] = Math.round(0.4 * item.photo[4 * p + k] + 0.6 * palette[3 * c + k]);
  }
  item.canvas.getContext('2d').putImageData(out, 0, 0);
  let painted = 0;
  for (const c of item.labels) if (c !== UNLABELLED) painted++;
  item.info.textContent = `${item.name}: ${width}x${height}, ${painted} pixels painted` + (item.figures ? `; ${item.figures}` : '');
}

/** Labels `value` in a disc of `radius` around each point of the polyline (the brush). */
export function paintLabels(item, value, radius, points) {
  const { width, height } = item.rgb;
  const stamp = (cx, cy) => {
    for (let y = Math.max(0, Math.ceil(cy - radius)); y <= Math.min(height - 1, Math.floor(cy + radius)); y++) {
      for (let x = Math.max(0, Math.ceil(cx - radius)); x <= Math.min(width - 1, Math.floor(cx + radius)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) item.labels[y * width + x] = value;
      }
    }
  };
  points.forEach(([x, y], i) => {
    const [px, py] = i === 0 ? [x, y] : points[i - 1];
    const n = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / Math.max(0.5, radius / 2)));
    for (let k = 1; k <= n; k++) stamp(px + ((x - px) * k) / n, py + ((y - py) * k) / n);
  });
}

/** The brush on an image's canvas: pointer positions in image pixels, `stroke(item, value, radius, points)` per move of a drag. */
function attachBrush(item, stroke) {
  let last = null;
  const at = (e) => {
    const r = item.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * item.canvas.width) / r.width, ((e.clientY - r.top) * item.canvas.height) / r.height];
  };
  const brush = () => {
    const scale = item.canvas.width / item.canvas.getBoundingClientRect().width;
    return { value: Number($('teach-class').value), radius: Number($('teach-brush').value) * scale };
  };
  item.canvas.addEventListener('pointerdown', (e) => {
    item.canvas.setPointerCapture(e.pointerId);
    last = at(e);
    const { value, radius } = brush();
    stroke(item, value, radius, [last]).catch(() => {});
  });
  item.canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const point = at(e);
    const { value, radius } = brush();
    stroke(item, value, radius, [last, point]).catch(() => {});
    last = point;
  });
  const end = () => (last = null);
  item.canvas.addEventListener('pointerup', end);
  item.canvas.addEventListener('pointercancel', end);
}

/**
 * Adds an image (RGB) with its labels (default: none painted): a canvas to paint on with `stroke`
 * as the brush, and one for the taught model's prediction. `truthUrl`: its label map, where the
 * sample has one (strokes can be painted from it).
 */
export function addRgb(rgb, name, stroke, labels = new Uint8Array(rgb.width * rgb.height).fill(UNLABELLED), truthUrl = null) {
  const photo = new Uint8ClampedArray(4 * rgb.width * rgb.height);
  for (let p = 0; p < rgb.width * rgb.height; p++) {
    photo.set(rgb.data.subarray(3 * p, 3 * p + 3), 4 * p);
    photo[4 * p + 3] = 255;
  }
  const card = document.createElement('figure');
  card.className = 'teach-card';
  const canvas = Object.assign(document.createElement('canvas'), { width: rgb.width, height: rgb.height, title: 'paint class strokes here' });
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${name}, with the painted classes`);
  const after = Object.assign(document.createElement('canvas'), { width: 0, height: 0, hidden: true, title: "the taught model's segmentation" });
  after.setAttribute('role', 'img');
  after.setAttribute('aria-label', `${name}, segmented by the taught model`);
  const info = document.createElement('figcaption');
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: `Remove ${name}` });
  card.append(canvas, after, info, remove);
  $('teach-images').append(card);
  const item = { name, rgb, labels, photo, canvas, after, info, truthUrl, figures: null };
  remove.addEventListener('click', () => {
    items.splice(items.indexOf(item), 1);
    card.remove();
    refreshLabelButton();
  });
  items.push(item);
  attachBrush(item, stroke);
  refreshLabelButton();
  return item;
}

export const clearItems = () => {
  for (const item of items.splice(0)) item.canvas.parentElement.remove();
  refreshLabelButton();
};

/** "Paint from the labels" is offered while an image on the page has a label map. */
function refreshLabelButton() {
  $('teach-from-labels').disabled = !items.some((i) => i.truthUrl);
}

/**
 * Paints each image that has a label map with strokes of `pattern` made from it (replacing what
 * was painted), as a user painting that pattern over what the labels say would; returns the
 * pixels painted per image (0 where it has no labels).
 */
export async function paintFromLabels(pattern, palette) {
  const painted = [];
  for (const [k, item] of items.entries()) {
    if (!item.truthUrl) {
      painted.push(0);
      continue;
    }
    const response = await fetch(item.truthUrl);
    if (!response.ok) throw new Error(`${item.truthUrl}: HTTP ${response.status}`);
    const truth = readIndexedPng(new Uint8Array(await response.arrayBuffer()));
    if (truth.width !== item.rgb.width || truth.height !== item.rgb.height) throw new Error(`${item.truthUrl}: ${truth.width}x${truth.height}, not the image's ${item.rgb.width}x${item.rgb.height}`);
    item.labels = strokesFromLabels(truth.indices, truth.width, truth.height, pattern, { seed: k });
    redraw(item, palette);
    painted.push(item.labels.filter((c) => c !== UNLABELLED).length);
  }
  return painted;
}
