// Polygon rasterisation for COCO segmentations: a pixel (x, y) belongs to a polygon when its
// centre (x + 0.5, y + 0.5) is inside it by the even-odd rule. A centre exactly on an edge counts
// as inside on the polygon's left/top side and outside on its right/bottom side (half-open
// intervals), so polygons that share an edge never both take a pixel. pycocotools rasterises
// differently (it upsamples the outline and fills between edge points), so pixels along the
// edges can differ from its masks; interiors agree.

/**
 * Sets `mask` (row-major, width x height) to 1 on the pixels whose centres lie inside the polygon
 * [x1, y1, x2, y2, ...]. Fewer than three points enclose no centre and set nothing.
 */
export function fillPolygon(coords: readonly number[], width: number, height: number, mask: Uint8Array): void {
  const n = coords.length >> 1;
  if (n < 3) return;
  const crossings: number[] = [];
  for (let y = 0; y < height; y++) {
    const yc = y + 0.5;
    crossings.length = 0;
    for (let i = 0; i < n; i++) {
      const j = i + 1 === n ? 0 : i + 1;
      const x1 = coords[2 * i];
      const y1 = coords[2 * i + 1];
      const x2 = coords[2 * j];
      const y2 = coords[2 * j + 1];
      // Half-open in y: an edge crosses the row's centre line when its ends lie on either side.
      if (y1 <= yc !== y2 <= yc) crossings.push(x1 + ((yc - y1) * (x2 - x1)) / (y2 - y1));
    }
    crossings.sort((a, b) => a - b);
    // Even-odd: the centres between crossings 0-1, 2-3, ... are inside (x + 0.5 in [a, b)).
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
      const to = Math.min(width - 1, Math.ceil(crossings[k + 1] - 0.5) - 1);
      for (let x = from; x <= to; x++) mask[y * width + x] = 1;
    }
  }
}
