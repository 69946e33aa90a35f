// The page entry's types for TypeScript 6 and later (see README.md).
export * from '../dist/src/browser/index.js';
