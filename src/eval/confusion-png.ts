// The confusion matrix as a heat map PNG: each ground-truth row normalised to 100 %, white (0 %)
// to dark blue (100 %), the class names along both axes (ground truth down the left, prediction
// along the bottom), the percentage written in cells large enough to hold it.
import { PNG } from 'pngjs';
import { Canvas, GLYPH_H, type Rgb, drawable, textWidth } from '../util/canvas.js';
import type { ConfusionMatrix } from './metrics.js';

/** The colour of a 0 % cell, and of a 100 % cell. */
export const HEAT_LOW: Rgb = [255, 255, 255];
export const HEAT_HIGH: Rgb = [8, 48, 107];
/** The cells of a row whose class has no ground-truth pixels (no share is defined). */
export const HEAT_UNDEFINED: Rgb = [200, 200, 200];

const BLACK: Rgb = [0, 0, 0];
const WHITE: Rgb = [255, 255, 255];
const MARGIN = 16;
/** Past this many classes the names would not fit beside a cell: the map is drawn without them. */
const MAX_NAMED_CLASSES = 250;
const SUBTITLE = 'EACH ROW (A GROUND-TRUTH CLASS) SUMS TO 100 %; GREY: NO PIXELS OF THAT CLASS';

/** A row share in [0, 1] (NaN: undefined) as its cell colour, linear from HEAT_LOW to HEAT_HIGH. */
export function heatColour(share: number): Rgb {
  if (Number.isNaN(share)) return HEAT_UNDEFINED;
  const v = Math.min(1, Math.max(0, share));
  return [0, 1, 2].map((i) => Math.round(HEAT_LOW[i] + (HEAT_HIGH[i] - HEAT_LOW[i]) * v)) as Rgb;
}

/** Where the heat map's parts lie: cell (gt, pred) spans [left + pred * cell, +cell) x [top + gt * cell, +cell). */
export interface HeatMapLayout {
  width: number;
  height: number;
  left: number;
  top: number;
  cell: number;
  /** The class names' glyph scale (0: names left out). */
  labelScale: number;
  /** The widest class name in pixels. */
  labelWidth: number;
}

export function confusionLayout(classNames: readonly string[], title: string): HeatMapLayout {
  const n = classNames.length;
  const named = n <= MAX_NAMED_CLASSES;
  // Large cells for few classes (room for the percentages), at least 160 pixels in all.
  const base = n <= 24 ? 28 : n <= 60 ? 16 : named ? 9 : Math.max(1, Math.floor(2000 / n));
  const cell = Math.max(base, Math.ceil(160 / n));
  const labelScale = !named ? 0 : cell >= 16 ? 2 : 1;
  const labelWidth = labelScale ? Math.max(...classNames.map((name) => textWidth(drawable(name), labelScale))) : 0;
  const top = MARGIN + 2 * GLYPH_H + 6 + GLYPH_H + 16;
  const left = MARGIN + 2 * GLYPH_H + 12 + labelWidth + 8;
  const size = n * cell;
  const barRight = left + size + 24 + 16 + 6 + textWidth('100%');
  const width = Math.max(barRight + MARGIN, 2 * MARGIN + textWidth(drawable(title)), 2 * MARGIN + textWidth(SUBTITLE, 1));
  const height = top + size + 8 + labelWidth + 12 + 2 * GLYPH_H + MARGIN;
  return { width, height, left, top, cell, labelScale, labelWidth };
}

/** The heat map of `matrix` as PNG bytes; `title` (e.g. the step) heads it. */
export function confusionPng(matrix: ConfusionMatrix, classNames: readonly string[], title = 'CONFUSION MATRIX'): Buffer {
  const n = matrix.numClasses;
  if (classNames.length !== n) throw new Error(`confusionPng: ${classNames.length} class names for a ${n}-class matrix`);
  const L = confusionLayout(classNames, title);
  const { left, top, cell, labelScale } = L;
  const size = n * cell;
  const c = new Canvas(L.width, L.height);
  c.text(MARGIN, MARGIN, drawable(title), BLACK);
  c.text(MARGIN, MARGIN + 2 * GLYPH_H + 6, SUBTITLE, BLACK, 1);

  const shares = matrix.rowNormalised();
  shares.forEach((row, g) =>
    row.forEach((v, p) => {
      const x = left + p * cell;
      const y = top + g * cell;
      c.rect(x, y, cell, cell, heatColour(v));
      const percent = Math.round(100 * v);
      if (cell >= 24 && percent >= 1) {
        const text = String(percent);
        c.text(x + Math.floor((cell - c.textWidth(text, 1)) / 2), y + Math.floor((cell - GLYPH_H) / 2), text, v > 0.5 ? WHITE : BLACK, 1);
      }
    }),
  );
  // A frame just outside the cells.
  c.line(left - 1, top - 1, left + size, top - 1, BLACK);
  c.line(left - 1, top + size, left + size, top + size, BLACK);
  c.line(left - 1, top - 1, left - 1, top + size, BLACK);
  c.line(left + size, top - 1, left + size, top + size, BLACK);

  if (labelScale) {
    const glyphH = GLYPH_H * labelScale;
    classNames.forEach((name, i) => {
      const text = drawable(name);
      const w = c.textWidth(text, labelScale);
      // Ground truth: right-aligned left of its row. Prediction: under its column, read upwards, ending at the matrix.
      c.text(left - 8 - w, top + i * cell + Math.floor((cell - glyphH) / 2), text, BLACK, labelScale);
      c.textUp(left + i * cell + Math.floor((cell - glyphH) / 2), top + size + 8 + w, text, BLACK, labelScale);
    });
  }
  const gtTitle = 'GROUND TRUTH';
  c.textUp(MARGIN, top + Math.floor((size + c.textWidth(gtTitle)) / 2), gtTitle, BLACK);
  const predTitle = 'PREDICTION';
  c.text(left + Math.floor((size - c.textWidth(predTitle)) / 2), top + size + 8 + L.labelWidth + 12, predTitle, BLACK);

  // The colour scale: 100 % at the top, 0 % at the bottom.
  const barX = left + size + 24;
  for (let y = 0; y < size; y++) c.rect(barX, top + y, 16, 1, heatColour(1 - y / Math.max(1, size - 1)));
  c.text(barX + 22, top, '100%', BLACK);
  c.text(barX + 22, top + size - 2 * GLYPH_H, '0%', BLACK);
  return PNG.sync.write(c.png);
}
