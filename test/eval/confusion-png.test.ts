// The confusion-matrix heat map, decoded back: its size, the colour of each cell against the
// hand-computed row shares, and the class names drawn along both axes.
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { HEAT_HIGH, HEAT_UNDEFINED, type HeatMapLayout, confusionLayout, confusionPng, heatColour } from '../../src/eval/confusion-png.js';
import { ConfusionMatrix } from '../../src/eval/metrics.js';
import { Canvas, GLYPH_H, type Rgb, textWidth } from '../../src/util/canvas.js';
import { expectThrows } from '../helpers.js';

const BLACK: Rgb = [0, 0, 0];

function pixel(png: PNG, x: number, y: number): Rgb {
  const i = (y * png.width + x) * 4;
  return [png.data[i], png.data[i + 1], png.data[i + 2]];
}

/** Pixels of colour `ink` in the rectangle [x0, x1) x [y0, y1) of `png`. */
function inkIn(png: PNG, x0: number, y0: number, x1: number, y1: number, ink: Rgb = BLACK): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pixel(png, x, y).every((v, i) => v === ink[i])) n++;
  return n;
}

/** Black pixels of `text` drawn alone at `scale`. */
function inkOf(text: string, scale: number): number {
  const c = new Canvas(textWidth(text, scale), GLYPH_H * scale);
  c.text(0, 0, text, BLACK, scale);
  return inkIn(c.png, 0, 0, c.width, c.height);
}

describe('eval: the confusion-matrix heat map', () => {
  // gt:   0 0 0 1 1 2 2 2 (class 3 never in the ground truth: its row is undefined)
  // pred: 0 0 1 1 2 2 2 3
  const names = ['road', 'car', 'sky', 'pole'];
  const matrix = new ConfusionMatrix(4);
  matrix.add([0, 0, 1, 1, 2, 2, 2, 3], [0, 0, 0, 1, 1, 2, 2, 2]);
  const shares = [
    [2 / 3, 1 / 3, 0, 0],
    [0, 1 / 2, 1 / 2, 0],
    [0, 0, 2 / 3, 1 / 3],
    [NaN, NaN, NaN, NaN],
  ];
  const title = 'CONFUSION MATRIX AT STEP 12';
  let png: PNG;
  let L: HeatMapLayout;
  before(() => {
    png = PNG.sync.read(confusionPng(matrix, names, title));
    L = confusionLayout(names, title);
  });

  it('the colour scale: white at 0 %, dark blue at 100 %, linear between; grey where a row is undefined', () => {
    expect(heatColour(0)).to.deep.equal([255, 255, 255]);
    expect(heatColour(1)).to.deep.equal(HEAT_HIGH);
    expect(heatColour(0.5)).to.deep.equal([132, 152, 181]); // (255 + [8, 48, 107]) / 2, rounded
    expect(heatColour(NaN)).to.deep.equal(HEAT_UNDEFINED);
    expect(heatColour(1.5)).to.deep.equal(heatColour(1));
  });

  it('is a PNG of the layout size; each cell has the colour of its row share', () => {
    expect([png.width, png.height]).to.deep.equal([L.width, L.height]);
    expect(L.cell * 4 + L.left).to.be.lessThan(L.width);
    expect(L.cell * 4 + L.top).to.be.lessThan(L.height);
    for (let g = 0; g < 4; g++) {
      for (let p = 0; p < 4; p++) {
        const want = heatColour(shares[g][p]);
        // Two corners of the cell (the percentage is written in its middle).
        for (const [dx, dy] of [
          [1, 1],
          [L.cell - 2, L.cell - 2],
        ]) {
          expect(pixel(png, L.left + p * L.cell + dx, L.top + g * L.cell + dy), `cell gt ${g} pred ${p}`).to.deep.equal(want);
        }
      }
    }
    // The percentages, in white on a dark cell and black on a light one; none where 0 %.
    const cellInk = (g: number, p: number, ink: Rgb): number => inkIn(png, L.left + p * L.cell, L.top + g * L.cell, L.left + (p + 1) * L.cell, L.top + (g + 1) * L.cell, ink);
    expect(cellInk(0, 0, [255, 255, 255])).to.equal(inkOf('67', 1));
    expect(cellInk(0, 1, BLACK)).to.equal(inkOf('33', 1));
    expect(cellInk(0, 2, BLACK)).to.equal(0);
  });

  it('writes the class names down the left (ground truth) and along the bottom (prediction)', () => {
    expect(L.labelScale).to.equal(2);
    const inks = names.map((n) => inkOf(n, L.labelScale));
    expect(new Set(inks).size, 'names with distinct ink, so a count tells them apart').to.equal(names.length);
    const size = 4 * L.cell;
    names.forEach((name, i) => {
      const row = inkIn(png, L.left - 8 - L.labelWidth, L.top + i * L.cell, L.left - 1, L.top + (i + 1) * L.cell);
      expect(row, `row label ${name}`).to.equal(inks[i]);
      const column = inkIn(png, L.left + i * L.cell, L.top + size + 1, L.left + (i + 1) * L.cell, L.top + size + 8 + L.labelWidth + 1);
      expect(column, `column label ${name}`).to.equal(inks[i]);
    });
  });

  it('many classes: smaller cells and glyphs, still named; characters the font lacks drawn as ?', () => {
    const k = 150;
    const many = Array.from({ length: k }, (_, i) => (i === 7 ? 'Café' : `class ${i + 1}`));
    const m = new ConfusionMatrix(k);
    m.add([0, 1, 149], [0, 0, 149]);
    const image = PNG.sync.read(confusionPng(m, many));
    const layout = confusionLayout(many, 'CONFUSION MATRIX');
    expect([image.width, image.height]).to.deep.equal([layout.width, layout.height]);
    expect(layout.labelScale).to.equal(1);
    expect(layout.cell).to.be.at.least(8); // a 7-pixel glyph per row
    expect(pixel(image, layout.left + 1, layout.top + 1)).to.deep.equal(heatColour(0.5));
    expect(pixel(image, layout.left + 149 * layout.cell + 1, layout.top + 149 * layout.cell + 1)).to.deep.equal(heatColour(1));
    expect(pixel(image, layout.left + 1, layout.top + 5 * layout.cell + 1)).to.deep.equal(HEAT_UNDEFINED);
    const row7 = inkIn(image, layout.left - 8 - layout.labelWidth, layout.top + 7 * layout.cell, layout.left - 1, layout.top + 8 * layout.cell);
    expect(row7, "row 7 reads 'CAF?'").to.equal(inkOf('CAF?', 1));
  });

  it('refuses class names that do not match the matrix', () => {
    expectThrows(() => confusionPng(matrix, ['road', 'car']), /confusionPng: 2 class names for a 4-class matrix/);
  });
});
