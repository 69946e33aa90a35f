// test/fixtures/smp-convnext (scripts/fixtures/smp-convnext/README.md): smp folders on timm's
// ConvNeXt, written as save_pretrained wrote them, their weights from the PRNG of the manifest.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import { stateDictSha256 } from './mmseg-prng.js';
import { type SmpManifest, smpStateDict } from './smp-fixture.js';

export const CONVNEXT_FIXTURES = 'test/fixtures/smp-convnext';

/** A configuration's manifest, and the SHA-256 of the model.safetensors save_pretrained wrote. */
export function convnextFixtureManifest(config: string): SmpManifest & { saved: string } {
  const json = JSON.parse(readFileSync(join(CONVNEXT_FIXTURES, config, 'manifest.json'), 'utf8'));
  return { rows: json.tensors, sha256All: json.sha256_all, encoderName: json.constructor_kwargs.encoder_name, saved: json.model_safetensors.sha256 };
}

/** The folder save_pretrained wrote: its config.json and model.safetensors from the PRNG (checked against the manifest's hash). */
export function writeConvnextFolder(config: string): string {
  const m = convnextFixtureManifest(config);
  const state = smpStateDict(m);
  expect(stateDictSha256(state), `${config}: the PRNG's tensors`).to.equal(m.sha256All);
  const dir = mkdtempSync(join(tmpdir(), `smp-${config}-`));
  writeFileSync(join(dir, 'config.json'), readFileSync(join(CONVNEXT_FIXTURES, config, 'config.json')));
  writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(state));
  return dir;
}
