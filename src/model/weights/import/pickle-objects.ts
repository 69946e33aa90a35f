// How the unpickler (pickle.ts) fills Python's containers and objects: SETITEM(S) into a dict,
// APPEND(S) onto a list, and BUILD's state applied to an object. Each refuses what it cannot do
// through the unpickler's `fail`, which names the offset.
import { pickleRepr } from './pickle-values.js';

export function setItems(target: unknown, items: unknown[], fail: (msg: string) => never): void {
  if (!(target instanceof Map)) fail('SETITEM(S) on a value that is not a dict');
  if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
  for (let i = 0; i < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
}

export function appendItems(target: unknown, items: unknown[], fail: (msg: string) => never): void {
  if (!Array.isArray(target) || Object.isFrozen(target)) fail('APPEND(S) on a value that is not a list');
  for (const it of items) (target as unknown[]).push(it); // no spread: a list can be long
}

/** BUILD: __setstate__ when the object has one, else copy a (dict, slots) state onto it. */
export function buildObject(obj: unknown, state: unknown, fail: (msg: string) => never): void {
  if (obj !== null && typeof obj === 'object' && typeof (obj as { __setstate__?: unknown }).__setstate__ === 'function') {
    try {
      (obj as { __setstate__(s: unknown): void }).__setstate__(state);
    } catch (e) {
      fail(`BUILD failed: ${(e as Error).message}`);
    }
    return;
  }
  if (state === null) return;
  const parts = Array.isArray(state) && Object.isFrozen(state) && state.length === 2 ? state : [state];
  for (const part of parts) {
    if (part === null) continue;
    if (!(part instanceof Map) || obj === null || typeof obj !== 'object' || !Object.isExtensible(obj)) {
      fail(`BUILD of ${pickleRepr(obj)} with state ${pickleRepr(part)}: a state this unpickler cannot apply`);
    }
    for (const [k, v] of part as Map<unknown, unknown>) {
      if (typeof k !== 'string') fail('BUILD state has a non-string attribute name');
      // defineProperty, not assignment, so a key like "__proto__" cannot touch the prototype.
      try {
        Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
      } catch {
        fail(`BUILD cannot set attribute ${JSON.stringify(k)} of ${pickleRepr(obj)}`);
      }
    }
  }
}

