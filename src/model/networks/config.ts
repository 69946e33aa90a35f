// A DeepLabv3 configuration's fields (config-types.ts), the backbones' names and the ASPP rates'
// rules. What depends on a backbone (its reference configuration, the options it takes) is its
// record's: defaultConfig and validateConfig are src/model/backbones/config.ts's.
import { type BackboneName, BACKBONE_NAMES } from './backbone-names.js';

export * from './config-types.js';

/** The backbones' names (the records' keys). */
export const BACKBONES: readonly BackboneName[] = BACKBONE_NAMES;

/** The paper's ASPP rates: (6,12,18) at OS 16, scaled by 16/OS (doubled at OS 8), at least 1. */
export const PAPER_ASPP_RATES_OS16: readonly number[] = [6, 12, 18];

/** Rates chosen for one output stride, rescaled to another (the rule load-weights also applies). */
export function scaleAsppRates(rates: readonly number[], fromStride: number, toStride: number): number[] {
  return rates.map((r) => Math.max(1, Math.round((r * fromStride) / toStride)));
}

export function paperAsppRates(outputStride: number): number[] {
  return scaleAsppRates(PAPER_ASPP_RATES_OS16, 16, outputStride);
}
