// Every input policy's record by kind (policy.ts says what a record holds): a kind of the
// InputPolicy union (src/model/loading/options.ts) without a record is a compile error. Reading
// a stored policy, with its one refusal, lives here.
import type { InputPolicy } from '../loading/options.js';
import { FIXED } from './fixed.js';
import { HEIGHT_WIDTH } from './height-width.js';
import { KEEP_RATIO } from './keep-ratio.js';
import { OWN_SIZE } from './own-size.js';
import { PAD_TO_CROP } from './pad-to-crop.js';
import type { InputPolicyRecord, PolicyKind } from './policy.js';
import { SHORT_SIDE } from './short-side.js';
import { SHORTEST_EDGE } from './shortest-edge.js';
import { STRIDE_MULTIPLE } from './stride-multiple.js';

export const INPUT_POLICIES: { readonly [K in PolicyKind]: InputPolicyRecord<Extract<InputPolicy, { kind: K }>> } = {
  fixed: FIXED,
  'short-side': SHORT_SIDE,
  'keep-ratio': KEEP_RATIO,
  'shortest-edge': SHORTEST_EDGE,
  'height-width': HEIGHT_WIDTH,
  'stride-multiple': STRIDE_MULTIPLE,
  'own-size': OWN_SIZE,
  'pad-to-crop': PAD_TO_CROP,
};

/** The record of a policy's kind. */
export function policyRecord<P extends InputPolicy>(p: P): InputPolicyRecord<P> {
  // The table pairs each kind with its own record, which TypeScript cannot follow through the index.
  return INPUT_POLICIES[p.kind] as unknown as InputPolicyRecord<P>;
}

/**
 * A stored policy (a checkpoint's metadata: the policy as JSON), every field checked by its
 * kind's record; anything else is an error starting with `what` that lists the forms.
 */
export function readInputPolicy(stored: Record<string, unknown>, what: string): InputPolicy {
  const record = Object.hasOwn(INPUT_POLICIES, String(stored.kind)) ? INPUT_POLICIES[stored.kind as PolicyKind] : undefined;
  const policy = record?.parse(stored);
  if (policy) return policy;
  const forms = Object.values(INPUT_POLICIES).map((r) => r.form);
  throw new Error(`${what} is none of ${forms.join(', ')} with positive integers`);
}
