// The segment panel's picture: the photo with each class's colour over it at the chosen opacity
// (#output), and the legend of the classes found with their shares, each with a toggle that
// takes its colour off the picture (#legend).
import { classesFound } from '/deeplab.js';

const $ = (id) => document.getElementById(id);

/** The picture: the photo with each enabled class's colour over it at the chosen opacity. */
export const view = { photo: null, result: null, palette: null, off: new Set() };

export function drawView() {
  const { photo, result, palette } = view;
  if (!photo || !result) return;
  const canvas = $('output');
  canvas.width = result.width;
  canvas.height = result.height;
  const g = canvas.getContext('2d');
  g.drawImage(photo, 0, 0);
  const alpha = Math.round((Number($('opacity').value) / 100) * 255);
  const layer = new ImageData(result.width, result.height);
  const px = layer.data;
  for (let p = 0; p < result.classes.length; p++) {
    const c = result.classes[p];
    if (view.off.has(c)) continue;
    px[4 * p] = palette[3 * c];
    px[4 * p + 1] = palette[3 * c + 1];
    px[4 * p + 2] = palette[3 * c + 2];
    px[4 * p + 3] = alpha;
  }
  const over = new OffscreenCanvas(result.width, result.height);
  over.getContext('2d').putImageData(layer, 0, 0);
  g.drawImage(over, 0, 0);
  $('placeholder').hidden = true;
}

/** The legend: each class found with its colour, share and a toggle. */
export function showLegend(info, result) {
  const legend = $('legend');
  legend.replaceChildren();
  const { palette } = info;
  for (const c of classesFound(result, info.classNames)) {
    const li = document.createElement('li');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', id: `class-${c.index}`, checked: !view.off.has(c.index) });
    box.addEventListener('change', () => {
      if (box.checked) view.off.delete(c.index);
      else view.off.add(c.index);
      drawView();
    });
    const label = document.createElement('label');
    label.htmlFor = box.id;
    const colour = `rgb(${palette[3 * c.index]}, ${palette[3 * c.index + 1]}, ${palette[3 * c.index + 2]})`;
    const swatch = Object.assign(document.createElement('span'), { className: 'swatch' });
    swatch.style.background = colour;
    swatch.setAttribute('aria-hidden', 'true');
    label.append(swatch, c.name);
    const share = Object.assign(document.createElement('span'), { className: 'share', textContent: `${(100 * c.share).toFixed(1)} %` });
    const bar = Object.assign(document.createElement('span'), { className: 'bar' });
    const fill = document.createElement('span');
    fill.style.width = `${(100 * c.share).toFixed(1)}%`;
    fill.style.background = colour;
    bar.append(fill);
    bar.setAttribute('aria-hidden', 'true');
    li.append(box, label, share, bar);
    legend.append(li);
  }
}
