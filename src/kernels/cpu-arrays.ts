// CPU references run in float32 (to compare with the GPU) and in float64 (gradient checks
// against finite differences). These helpers let one generic reference serve both: the result
// is allocated with the same element type as the main input.

export type FloatArray = Float32Array | Float64Array;

/** A zero-filled array of `length` elements of the same kind as `like`. */
export function zerosLike<T extends FloatArray>(like: T, length: number): T {
  return (like instanceof Float64Array ? new Float64Array(length) : new Float32Array(length)) as T;
}

/** `values` as an array of the same kind as `like` (a float64 reference keeps its precision). */
export function fromLike<T extends FloatArray>(like: T, values: ArrayLike<number>): T {
  return (like instanceof Float64Array ? Float64Array.from(values) : Float32Array.from(values)) as T;
}

/**
 * `a` as a Float64Array: itself, or a widened copy (exact: every float32 is a float64), so a
 * reference's loops see one array kind whatever it was given.
 */
export function asFloat64(a: FloatArray): Float64Array {
  return a instanceof Float64Array ? a : new Float64Array(a);
}
