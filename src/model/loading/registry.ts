// Named pretrained models: where each file comes from, how to check it, and how to build the
// network that reads it. The facts live in weights/registry.json (see weights/README.md); this
// module validates them when it is loaded, so a broken registry stops the program at once with
// an error naming the file and the model. The JSON import is bundled into the browser build.
import registryJson from '../../../weights/registry.json' with { type: 'json' };
import { type RegistryEntry, parseRegistry } from './registry-data.js';

export type { Backbone, RegistryEntry, WeightFormat } from './registry-data.js';

/** The registry file, as named in error messages (relative to the package root). */
export const REGISTRY_FILE = 'weights/registry.json';

const registry = parseRegistry(registryJson, REGISTRY_FILE);

export const REGISTRY: readonly RegistryEntry[] = registry.models;

export const DEFAULT_MODEL: string = registry.defaultModel;

export function findModel(name: string): RegistryEntry {
  const entry = REGISTRY.find((e) => e.name === name);
  if (!entry) {
    throw new Error(`unknown model '${name}'. Known models: ${REGISTRY.map((e) => e.name).join(', ')} (or give a file path)`);
  }
  return entry;
}
