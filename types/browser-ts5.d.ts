// The page entry's types for TypeScript 5.x (see README.md).
/// <reference types="@webgpu/types" />
export * from '../dist/src/browser/index.js';
