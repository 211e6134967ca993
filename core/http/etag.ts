import { PreconditionRequiredError } from '../../domain/errors.ts';
import type { ExpectedVersion } from '../store/types.ts';

/** A draft's ETag: the strong entity tag `"<version>"` (RFC 9110 §8.8.3). */
export function formatETag(version: number): string {
  return `"${version}"`;
}

/**
 * Reads an `If-Match` header (RFC 9110 §13.1.1) as the versions it accepts: `'*'` for any,
 * else the versions of its strong entity tags. Weak tags (`W/"3"`) and anything unparseable
 * never match (If-Match uses the strong comparison), so they give an empty list, which fails
 * with 412. `undefined` when the header is absent.
 *
 * @example
 * parseIfMatch('"3", "4"'); // [3, 4]
 */
export function parseIfMatch(header: string | undefined): ExpectedVersion | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text === '*') return '*';
  const versions: number[] = [];
  for (const tag of text.match(/(?:W\/)?"[^"]*"/g) ?? []) {
    const strong = /^"(\d{1,15})"$/.exec(tag);
    if (strong?.[1] !== undefined) versions.push(Number(strong[1]));
  }
  return versions;
}

/**
 * The versions an edit may apply to, from a required `If-Match` header.
 * @throws PreconditionRequiredError (428) when the header is missing (RFC 6585 §3)
 */
export function requireIfMatch(headers: Readonly<Record<string, string>>): ExpectedVersion {
  const expected = parseIfMatch(headers['if-match']);
  if (expected === undefined) throw new PreconditionRequiredError();
  return expected;
}
