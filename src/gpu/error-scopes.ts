// Runs work on a device inside WebGPU's error scopes, so that a validation, out-of-memory or
// internal error it causes comes back to the caller instead of only to the console.
import type { GpuErrorKind } from './errors.js';

/** What `fn` returned or threw, and the first error the device reported meanwhile (validation first). */
export async function inErrorScopes<T>(device: GPUDevice, fn: () => T | Promise<T>): Promise<{ result: { value: T } | { error: unknown }; reported: { kind: GpuErrorKind; message: string } | null }> {
  device.pushErrorScope('internal');
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: { value: T } | { error: unknown };
  try {
    result = { value: await fn() };
  } catch (error) {
    result = { error };
  }
  // Popped in order, awaited together: one wait for the device's answers instead of three in turn.
  const [validation, oom, internal] = await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()]);
  const first = validation ?? oom ?? internal;
  const kind = validation ? 'validation' : oom ? 'out-of-memory' : 'internal';
  return { result, reported: first ? { kind, message: first.message } : null };
}
