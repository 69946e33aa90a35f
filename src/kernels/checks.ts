// Shape checks shared by the kernels' TypeScript side: every mismatch becomes an error that
// names the kernel, the operand and both shapes.
import type { Shape } from '../gpu/tensor.js';
import { shapeString } from '../gpu/tensor.js';

export function expectRank(shape: Shape, rank: number, kernel: string, operand: string): void {
  if (shape.length !== rank) {
    throw new Error(`${kernel}: ${operand} must have rank ${rank}, got shape ${shapeString(shape)}`);
  }
}

export function expectShape(shape: Shape, expected: Shape, kernel: string, operand: string): void {
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `${kernel}: ${operand} has shape ${shapeString(shape)}, expected ${shapeString(expected)}`,
    );
  }
}

export function expectPositiveInt(value: number, kernel: string, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${kernel}: ${name} must be a positive integer, got ${value}`);
}
