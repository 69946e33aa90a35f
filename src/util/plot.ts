// Line plots as PNG files (benchmark figures, training curves), drawn with pngjs and a tiny
// built-in bitmap font (canvas.ts): no plotting dependency for a few lines and labels.
import { PNG } from 'pngjs';
import { Canvas, GLYPH_H, type Rgb } from './canvas.js';

export type { Rgb };

export interface Series {
  label: string;
  color: Rgb;
  values: number[];
  dash?: [number, number];
}

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];

export interface Axes {
  yMin: number;
  yMax: number;
  /** Grid step of y (labels every other line) and of x. */
  yStep: number;
  xStep: number;
}

/** Round steps that give about `lines` grid lines over [lo, hi]. */
function niceStep(lo: number, hi: number, lines: number): number {
  const raw = (hi - lo) / lines || 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** Axes that fit the data: y from 0 (or the minimum, if negative) to the maximum, round steps. */
export function fitAxes(xs: number[], series: Series[]): Axes {
  const ys = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  const yMin = Math.min(0, ...ys);
  const yStep = niceStep(yMin, Math.max(...ys, yMin + 1e-9), 10);
  const yMax = Math.ceil(Math.max(...ys, yMin + 1e-9) / yStep) * yStep;
  return { yMin, yMax, yStep, xStep: niceStep(0, Math.max(...xs, 1), 10) };
}

/** Line plot of `series` against `xs` as a PNG file's bytes (axes fitted to the data unless given). */
export function plotPng(xs: number[], series: Series[], title: string, xLabel: string, yLabel: string, axes: Axes = fitAxes(xs, series)): Buffer {
  const W = 900;
  const H = 520;
  const left = 80;
  const right = 250;
  const top = 70;
  const bottom = 70;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const xMax = Math.max(...xs, 1);
  const X = (x: number): number => left + (x / xMax) * plotW;
  const Y = (y: number): number => top + (1 - (y - axes.yMin) / (axes.yMax - axes.yMin)) * plotH;
  const decimals = Math.max(0, -Math.floor(Math.log10(axes.yStep)));
  const c = new Canvas(W, H);
  c.text((W - c.textWidth(title)) / 2, 16, title, BLACK);
  // Grid and ticks: y every yStep (labels every other line), x every xStep.
  const yLines = Math.round((axes.yMax - axes.yMin) / axes.yStep);
  for (let i = 0; i <= yLines; i++) {
    const value = axes.yMin + i * axes.yStep;
    const y = Math.round(Y(value));
    c.line(left, y, left + plotW, y, GRID);
    c.line(left - 5, y, left, y, BLACK);
    if (i % 2 === 0) {
      const label = value.toFixed(decimals);
      c.text(left - 10 - c.textWidth(label), y - GLYPH_H, label, BLACK);
    }
  }
  for (let x = 0; x <= xMax; x += axes.xStep) {
    const px = Math.round(X(x));
    c.line(px, top, px, top + plotH, GRID);
    c.line(px, top + plotH, px, top + plotH + 5, BLACK);
    c.text(px - c.textWidth(String(x)) / 2, top + plotH + 12, String(x), BLACK);
  }
  c.line(left, top, left, top + plotH, BLACK, 2);
  c.line(left, top + plotH, left + plotW, top + plotH, BLACK, 2);
  c.text(left + (plotW - c.textWidth(xLabel)) / 2, H - 30, xLabel, BLACK);
  c.text(left - 60, top - 30, yLabel, BLACK);
  // Curves, then the legend (a line sample and the label per series).
  for (const s of series) {
    let phase = 0;
    // A series may skip x values (NaN): lines join only consecutive measured points.
    for (let i = 1; i < xs.length; i++) {
      if (!Number.isFinite(s.values[i - 1]) || !Number.isFinite(s.values[i])) continue;
      phase = c.line(X(xs[i - 1]), Y(s.values[i - 1]), X(xs[i]), Y(s.values[i]), s.color, 3, s.dash, phase);
    }
    // A lone point (a series measured once) still shows.
    s.values.forEach((v, i) => {
      if (Number.isFinite(v) && !Number.isFinite(s.values[i - 1]) && !Number.isFinite(s.values[i + 1])) c.rect(X(xs[i]) - 3, Y(v) - 3, 7, 7, s.color);
    });
  }
  series.forEach((s, i) => {
    const y = top + 20 + i * 34;
    const x = left + plotW + 20;
    c.line(x, y, x + 36, y, s.color, 3, s.dash);
    c.text(x + 46, y - GLYPH_H, s.label, s.color);
  });
  return PNG.sync.write(c.png);
}
