// The Node entry's types for TypeScript 6 and later (see README.md).
/// <reference lib="dom" />
export * from '../dist/src/index.js';
