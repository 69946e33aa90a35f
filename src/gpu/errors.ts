// WebGPU failures as JavaScript errors that say what kind they are (validation, out of memory,
// device loss, a device limit), so callers can tell a bad request from a broken device.

export class GpuError extends Error {
  constructor(message: string, readonly kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost' | 'limit') {
    super(message);
    this.name = 'GpuError';
  }
}
