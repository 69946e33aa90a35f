// fineTune's settings with the recipe's choices filled in where the caller left them out.
//
// Recipe 'strokes' (the default), for a few painted strokes: the images at the size the network
// sees them, taught whole (crops centred on the strokes, the painted classes in turn, where the
// crop is smaller), the classes painted weighed towards the same, the pixels nobody painted
// distilled to the starting model's classes, a share of the strokes held out and the best step on
// them kept, the head alone trained, the learning rate, the steps and the distillation's weight
// from how much is painted.
// Each choice was measured on the VOC sample and CamVid (`npm run bench -- --parts teach`;
// docs/training.md#teaching-from-strokes gives the figures).
//
// Recipe 'plain': `deeplab train`'s augmentation over the images as given, every parameter
// trained, nothing distilled or held out, the last step kept; steps, crop and lr must be given.
import type { FineTuneRecipe, FineTuneSettings } from './fine-tune-settings.js';

/** The settings a run uses, each the caller's or the recipe's. */
export interface TeachSettings {
  recipe: FineTuneRecipe;
  steps: number;
  crop: number;
  batch: number;
  lr: number;
  warmup: number;
  scale: [number, number];
  flip: boolean;
  freezeBackbone: boolean;
  freezeBn: boolean;
  dropout: boolean;
  seed: number;
  sampleSize: 'network' | 'image';
  cropAt: 'strokes' | 'anywhere';
  distill: number;
  balance: number;
  holdOut: number;
  evalEvery: number;
  keep: 'best' | 'least-loss' | 'last';
}

/** What the recipe reads of the samples. */
export interface PaintedFacts {
  /** Painted pixels over all pixels of the samples (as given). */
  paintedShare: number;
  /** The network's input side (the larger), where the images are taught at its size. */
  networkSide: number;
  /** The images taught together. */
  images: number;
  /** Whether a class the starting model lacks is painted (a new class). */
  paintsNew?: boolean;
}

/**
 * Recipe 'strokes', as measured (docs/training.md#how-the-recipe-was-chosen). The crop is the
 * whole image as the network sees it (up to `maxCrop`), unscaled: a smaller crop shows the head's
 * image pooling another average than segment() does, and taught so the taught model got worse on
 * the images it was taught. The head alone trains (the backbone too undid more than it taught);
 * the learning rate and the steps grow with the share painted from `least` to `few` to `many`
 * (clicks, 0.04-0.26 % painted, at `least`'s rate: at `few`'s their image's rest moved more). The
 * strokes' loss is a mean over the painted pixels and the distillation's a mean over the others,
 * so with a few clicks (0.1 % painted) each painted pixel weighed a thousand unpainted ones: the
 * head learned the clicks and the rest of the image got worse. The distillation weighs
 * sqrt(`distill.share` / the share painted), from 1 (bands, 21 %) to `distill.most` (clicks):
 * at 30 the clicks were no longer learned and the head drifted on the other images. Several
 * images taught together take the steps times the images where `few` or more is painted, each
 * image seen as often as one taught alone (three VOC images' scribbles +3.2 against +1.8, CamVid's
 * +17.6 against +7.3), and one image's steps where `least` or less is (clicks: +1.8 against +2.2),
 * on the same log scale between. The step kept is the one whose segment() labels the held-out
 * strokes best where `keepByMiou` or more is painted (bands: +6.1 against +5.4 by their loss),
 * and the one of least held-out loss where less is: a few held-out strokes' mIoU moves by whole
 * strokes (scribbles +4.2 against +3.4; corrections at the page's brush +2.9 against +3.4; the
 * other cases measured kept the same steps either way), with the drift of the unpainted pixels
 * (fine-tune-loop.ts driftWeight: clicks at the page's brush +4.6, worst -0.8, against +4.1 and
 * -6.6). A new class painted keeps by mIoU whatever is painted: it starts labelled nowhere and is
 * learned late, and the least held-out loss came before it was (Road with clicks 0.0 on CamVid's
 * val images, by mIoU 64.3).
 */
export const STROKES_RECIPE = {
  maxCrop: 513,
  batch: 1,
  scale: [1, 1] as [number, number],
  distill: { share: 0.15, least: 1, most: 10 },
  balance: 0.5,
  holdOut: 0.2,
  evalEvery: 5,
  keepByMiou: 0.15,
  least: { share: 0.003, steps: 20, lr: 0.0005 },
  few: { share: 0.01, steps: 20, lr: 0.001 },
  many: { share: 0.25, steps: 30, lr: 0.003 },
};

/** Where `share` lies from share `a` (0) to share `b` (1) on a log scale, clamped to [0, 1]. */
function logPosition(share: number, a: number, b: number): number {
  return Math.min(1, Math.max(0, Math.log(Math.max(share, 1e-9) / a) / Math.log(b / a)));
}

/** A setting as the share moves from least to few to many (on a log scale between each two), clamped at the ends. */
function between(share: number, key: 'steps' | 'lr'): number {
  const { least, few, many } = STROKES_RECIPE;
  const [a, b] = share < few.share ? [least, few] : [few, many];
  return a[key] + logPosition(share, a.share, b.share) * (b[key] - a[key]);
}

/** The steps for a share painted over `images` taught together: one image's times the images from `few` up, once at `least` and below. */
function stepsFor(share: number, images: number): number {
  const { least, few } = STROKES_RECIPE;
  return Math.round(Math.round(between(share, 'steps')) * (1 + logPosition(share, least.share, few.share) * (Math.max(1, images) - 1)));
}

/** The distillation's weight for a share painted: sqrt(distill.share / share), clamped to [least, most]. */
function distillWeight(share: number): number {
  const { share: at, least, most } = STROKES_RECIPE.distill;
  return Number(Math.min(most, Math.max(least, Math.sqrt(at / Math.max(share, 1e-9)))).toPrecision(2));
}

const RECIPES: readonly FineTuneRecipe[] = ['strokes', 'plain'];

function oneOf<T extends string>(what: string, v: T | undefined, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v)) throw new Error(`fineTune: ${what} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(v)}`);
  return v;
}

/** The caller's settings with the recipe's where left out; a setting out of range is refused by name. */
export function teachSettings(o: FineTuneSettings, facts: PaintedFacts): TeachSettings {
  const recipe = oneOf('recipe', o.recipe, RECIPES, 'strokes');
  const plain = recipe === 'plain';
  if (plain) {
    const missing = (['steps', 'crop', 'lr'] as const).filter((k) => o[k] === undefined);
    if (missing.length) throw new Error(`fineTune: recipe 'plain' takes its ${missing.join(', ')} from the caller: give ${missing.join(' and ')}`);
  }
  const r = STROKES_RECIPE;
  const share = facts.paintedShare;
  const holdOut = o.holdOut ?? (plain ? 0 : r.holdOut);
  if (!(typeof holdOut === 'number' && holdOut >= 0 && holdOut < 1)) throw new Error(`fineTune: holdOut must be a share in [0, 1), got ${JSON.stringify(o.holdOut)}`);
  const distill = o.distill ?? (plain ? 0 : distillWeight(share));
  if (!(typeof distill === 'number' && distill >= 0 && Number.isFinite(distill))) throw new Error(`fineTune: distill must be a non-negative weight, got ${JSON.stringify(o.distill)}`);
  const balance = o.balance ?? (plain ? 0 : r.balance);
  if (!(typeof balance === 'number' && balance >= 0 && balance <= 1)) throw new Error(`fineTune: balance must be a power in [0, 1], got ${JSON.stringify(o.balance)}`);
  const evalEvery = o.evalEvery ?? r.evalEvery;
  if (!Number.isInteger(evalEvery) || evalEvery < 1) throw new Error(`fineTune: evalEvery must be a positive whole number of steps, got ${JSON.stringify(o.evalEvery)}`);
  const freezeBn = o.freezeBn ?? true;
  if (holdOut > 0 && !freezeBn) {
    throw new Error('fineTune: holdOut measures the held-out strokes with the training pass, which updates the batch-norm statistics when freezeBn is false: give holdOut: 0, or keep freezeBn');
  }
  return {
    recipe,
    steps: o.steps ?? stepsFor(share, facts.images),
    crop: o.crop ?? Math.min(r.maxCrop, facts.networkSide),
    batch: o.batch ?? (plain ? 1 : r.batch),
    lr: o.lr ?? Number(between(share, 'lr').toPrecision(2)),
    warmup: o.warmup ?? 0,
    scale: o.scale ?? (plain ? [0.5, 2.0] : r.scale),
    flip: o.flip ?? true,
    freezeBackbone: o.freezeBackbone ?? !plain,
    freezeBn,
    dropout: o.dropout ?? false,
    seed: o.seed ?? 0,
    sampleSize: oneOf('sampleSize', o.sampleSize, ['network', 'image'], plain ? 'image' : 'network'),
    cropAt: oneOf('cropAt', o.cropAt, ['strokes', 'anywhere'], plain ? 'anywhere' : 'strokes'),
    distill,
    balance,
    holdOut,
    evalEvery,
    keep: oneOf('keep', o.keep, ['best', 'least-loss', 'last'], plain ? 'last' : share >= r.keepByMiou || facts.paintsNew ? 'best' : 'least-loss'),
  };
}
