// COCO's run-length masks (the `{counts, size}` segmentations). The runs go down the columns
// (column-major, as COCO specifies), alternating background and object and starting with
// background. `counts` is either a list of numbers or COCO's compressed string, decoded here
// from its documented form (pycocotools' maskApi.c, rleFrString): each count is written in
// 5-bit groups, least significant first, one character per group (the character code minus 48);
// bit 0x20 of a group says another group follows and bit 0x10 of the last group is the sign.
// From the fourth count on (index > 2) a count is stored as its difference from the count two
// places before it.

/** The counts of a compressed RLE string; malformed strings are errors saying where. */
export function decodeRleString(text: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < text.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= text.length) throw new Error(`compressed RLE counts end inside a number (after character ${p})`);
      const c = text.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new Error(`compressed RLE counts hold '${text[p]}' at character ${p}, not one of the characters '0'..'o'`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && (c & 0x10) !== 0) x -= 2 ** (5 * k); // negative: sign-extend the last group
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * Sets `mask` (row-major, width x height) to 1 on the object runs of `counts`. The counts must
 * be non-negative integers summing to height * width.
 */
export function fillRle(counts: readonly number[], height: number, width: number, mask: Uint8Array): void {
  let total = 0;
  for (const [i, n] of counts.entries()) {
    if (!Number.isInteger(n) || n < 0) throw new Error(`RLE count ${i} is ${n}, not a non-negative integer`);
    total += n;
  }
  if (total !== height * width) throw new Error(`RLE counts sum to ${total}, not height x width = ${height} x ${width} = ${height * width}`);
  let pos = 0;
  for (const [i, n] of counts.entries()) {
    if (i % 2 === 1) {
      for (let q = pos; q < pos + n; q++) mask[(q % height) * width + Math.floor(q / height)] = 1;
    }
    pos += n;
  }
}
