/**
 * Tags greco writes on every managed data-plane function. They are the contract between the
 * control plane (the Lambda conductor) and the hot-path controller, which share no store: what
 * `start` restores and whether a function is suspended are read from the function itself.
 *
 * Lambda tag limits (50 per resource, key ≤ 128, value ≤ 256 characters) leave room for these
 * beside the user's own tags; user tags may not start with `greco:`.
 */
export const GrecoTags = {
  /** `'true'` on every function greco manages; nothing else is touched by greco. */
  managed: 'greco:managed',
  /** The workspace that owns the function. */
  workspace: 'greco:workspace',
  /** The function's name in the model (the part after `<prefix>-<workspace>-`). */
  functionName: 'greco:function',
  /**
   * The reserved concurrency the live model configures: a non-negative integer as text, or
   * `'none'` for unreserved. Written by the conductor at commit; read by `start`.
   */
  reservedConcurrency: 'greco:reserved-concurrency',
  /** `'true'` while an operator has suspended the function. Written by the hot path only. */
  suspended: 'greco:suspended',
} as const;

/**
 * The characters of a user tag's key or value: letters, separators (spaces), numbers in UTF-8
 * and `_ . : / = + - @` (AWS tagging rules: the `Tag` pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
 * of the AWS APIs). The spec validator refuses anything else at edit time, rather than TagResource
 * during a deployment; it also keeps format characters (bidirectional overrides, zero-width
 * spaces) out of consoles and logs.
 */
export const tagCharactersPattern = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** What a tag key or value outside {@link tagCharactersPattern} is told. */
export const tagCharactersMessage = 'must be letters, numbers, spaces or _ . : / = + - @ (AWS tagging rules)';

/** The value of {@link GrecoTags.reservedConcurrency} for a function with no reserved concurrency. */
export const unreservedTagValue = 'none';

/**
 * Reads the configured reserved concurrency from a function's tags.
 *
 * @returns the number of reserved concurrent executions, `undefined` for unreserved, or `null`
 *   when the tag is missing or malformed (the function was not committed by greco)
 */
export function configuredConcurrencyFromTags(
  tags: Readonly<Record<string, string>>,
): number | undefined | null {
  const value = tags[GrecoTags.reservedConcurrency];
  if (value === undefined) return null;
  if (value === unreservedTagValue) return undefined;
  if (!/^(0|[1-9][0-9]{0,6})$/.test(value)) return null;
  return Number(value);
}

/** Renders a reserved concurrency (or `undefined` for unreserved) as a tag value. */
export function concurrencyTagValue(reservedConcurrency: number | undefined): string {
  return reservedConcurrency === undefined ? unreservedTagValue : String(reservedConcurrency);
}
