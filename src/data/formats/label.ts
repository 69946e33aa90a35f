// A decoded label: what every label reader returns (index PNGs, colour masks, COCO masks).
export interface Label {
  width: number;
  height: number;
  /** Class id per pixel, or the ignore index. */
  indices: Uint8Array;
}
