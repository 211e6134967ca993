/**
 * Narrowing of parsed JSON values.
 *
 * @module
 */

/**
 * Whether `value` is a plain JSON object: not `null`, not an array, not a primitive.
 *
 * @example
 * isObject(JSON.parse('{"a":1}')); // true
 * isObject(JSON.parse('[1]')); // false
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
