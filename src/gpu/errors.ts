// WebGPU failures as JavaScript errors that say what kind they are (validation, out of memory,
// device loss, a device limit, no WebGPU at all), so callers can tell a bad request from a broken
// device, and a machine without WebGPU from both.

export type GpuErrorKind = 'validation' | 'out-of-memory' | 'internal' | 'device-lost' | 'limit' | 'unavailable';

export class GpuError extends Error {
  constructor(message: string, readonly kind: GpuErrorKind) {
    super(message);
    this.name = 'GpuError';
  }
}
