// The devices a model can run on, and what a device's values read back are: in a module of their
// own, so that the device interfaces (device.ts) and training's (training.ts) both name them.

/** The devices a model can run on. */
export const DEVICE_NAMES = ['webgpu', 'cpu'] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];

/** Values read back to the host. */
export type HostValues = Float32Array | Uint32Array;
