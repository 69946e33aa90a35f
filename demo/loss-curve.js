// The teach mode's loss curve: a canvas with both axes ticked at round numbers (1, 2 or 5 times a
// power of ten), a grid, axis titles, and the losses drawn as a line with a dot per step, in the
// page's colours (light or dark). The canvas is drawn at the screen's pixel density, and its
// accessible name says what the curve shows.

/** Round tick values covering [0, max]: about `count` of them, each 1, 2 or 5 times a power of ten. */
export function niceTicks(max, count = 5) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks.at(-1) < max) ticks.push(Number((ticks.at(-1) + step).toPrecision(12)));
  return ticks;
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** Draws `losses` (one per step, the first at step `first`) over a run of `steps` steps into `canvas`. */
export function drawLossCurve(canvas, losses, steps, first = 1) {
  const cssWidth = 560;
  const cssHeight = 240;
  const dpr = Math.max(1, Math.min(3, window.devicePixelRatio || 1));
  if (canvas.width !== cssWidth * dpr) {
    canvas.width = cssWidth * dpr;
    canvas.height = cssHeight * dpr;
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssWidth, cssHeight);
  const pad = { left: 56, right: 16, top: 14, bottom: 44 };
  const W = cssWidth - pad.left - pad.right;
  const H = cssHeight - pad.top - pad.bottom;
  const text = css('--text') || '#1b1f24';
  const muted = css('--muted') || '#4f5761';
  const grid = css('--grid') || '#e3e6ea';
  const line = css('--curve') || '#1f5fbf';
  const font = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const yTicks = niceTicks(Math.max(...losses, 0) || 1);
  const yMax = yTicks.at(-1);
  const xTicks = niceTicks(Math.max(steps, 1), 6).filter((v) => Number.isInteger(v));
  const xMax = Math.max(steps, 1);
  const x = (step) => pad.left + (W * step) / xMax;
  const y = (v) => pad.top + H - (H * v) / yMax;

  g.lineWidth = 1;
  g.font = `12px ${font}`;
  g.fillStyle = muted;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const v of yTicks) {
    g.strokeStyle = grid;
    g.beginPath();
    g.moveTo(pad.left, Math.round(y(v)) + 0.5);
    g.lineTo(pad.left + W, Math.round(y(v)) + 0.5);
    g.stroke();
    g.fillText(String(v), pad.left - 8, y(v));
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const v of xTicks) {
    g.strokeStyle = grid;
    g.beginPath();
    g.moveTo(Math.round(x(v)) + 0.5, pad.top);
    g.lineTo(Math.round(x(v)) + 0.5, pad.top + H);
    g.stroke();
    g.fillText(String(v), x(v), pad.top + H + 6);
  }
  g.strokeStyle = muted;
  g.strokeRect(pad.left + 0.5, pad.top + 0.5, W, H);
  g.fillStyle = text;
  g.font = `13px ${font}`;
  g.fillText('step', pad.left + W / 2, pad.top + H + 24);
  g.save();
  g.translate(14, pad.top + H / 2);
  g.rotate(-Math.PI / 2);
  g.textBaseline = 'middle';
  g.fillText('loss', 0, 0);
  g.restore();

  if (losses.length) {
    g.strokeStyle = line;
    g.fillStyle = line;
    g.lineWidth = 2;
    g.beginPath();
    losses.forEach((v, i) => (i ? g.lineTo(x(first + i), y(v)) : g.moveTo(x(first + i), y(v))));
    g.stroke();
    const dot = losses.length > 60 ? 0 : 2.5;
    if (dot) for (const [i, v] of losses.entries()) g.fillRect(x(first + i) - dot, y(v) - dot, 2 * dot, 2 * dot);
  }
  const last = first + losses.length - 1;
  canvas.setAttribute(
    'aria-label',
    losses.length ? `Training loss over ${steps} steps: ${losses[0].toFixed(3)} at step ${first}, ${losses.at(-1).toFixed(3)} at step ${last}` : `Training loss over ${steps} steps: no step yet`,
  );
}
