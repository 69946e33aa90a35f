// The Node entry's types for TypeScript 5.x (see README.md).
/// <reference lib="dom" />
/// <reference types="@webgpu/types" />
export * from '../dist/src/index.js';
