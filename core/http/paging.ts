import { ConflictError, ValidationError } from '../../domain/errors.ts';
import type { FunctionSpec } from '../spec.ts';

/**
 * Largest JSON size of the functions in one answer, in bytes: 5 MiB, leaving room for the rest
 * of the answer under Lambda's 6 MB quota for a synchronous invocation's response payload.
 */
export const functionsPageMaxBytes = 5 * 1024 * 1024;

/** One page of a model's functions. */
export interface FunctionsPage {
  readonly functions: readonly FunctionSpec[];
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  readonly nextCursor?: string;
}

/**
 * Cuts a page out of a model (functions sorted by name), read at `version` (a draft's
 * version, or the live epoch). A page ends at `limit` functions or before its JSON would pass
 * `maxBytes`, whichever comes first (always at least one function). The cursor remembers
 * `version`: paging on after the model changed is refused, so pages never mix two versions. It
 * also remembers `options.list` (which list it pages: `live`, `draft:<id>`), so a cursor of one
 * list is refused on another that happens to be at the same version number.
 *
 * @throws ValidationError (400, field `cursor`) for a cursor this API did not produce, or one
 *   produced for another list
 * @throws ConflictError (409) when the model is no longer at the cursor's version
 */
export function pageOfFunctions(
  functions: readonly FunctionSpec[],
  version: number,
  options: { limit?: number; cursor?: string; maxBytes?: number; list?: string } = {},
): FunctionsPage {
  const list = options.list ?? 'model';
  let start = 0;
  if (options.cursor !== undefined) {
    const cursor = decodeCursor(options.cursor, list);
    if (cursor.v !== version) {
      throw new ConflictError(
        `the model changed while you paged through it (version ${cursor.v}, now ${version}): start again without a cursor`,
        { version },
      );
    }
    start = functions.findIndex((spec) => spec.name > cursor.after);
    if (start < 0) start = functions.length;
  }
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const maxBytes = options.maxBytes ?? functionsPageMaxBytes;
  const page: FunctionSpec[] = [];
  let bytes = 0;
  for (let i = start; i < functions.length && page.length < limit; i++) {
    const spec = functions[i] as FunctionSpec;
    const size = Buffer.byteLength(JSON.stringify(spec)) + 1;
    if (page.length > 0 && bytes + size > maxBytes) break;
    page.push(spec);
    bytes += size;
  }
  const last = page.at(-1);
  return start + page.length < functions.length && last !== undefined
    ? { functions: page, nextCursor: encodeCursor({ v: version, after: last.name, l: list }) }
    : { functions: page };
}

interface Cursor {
  readonly v: number;
  readonly after: string;
  /** The list paged (`options.list` of {@link pageOfFunctions}). */
  readonly l: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeCursor(text: string, list: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (Number.isInteger(parsed.v) && typeof parsed.after === 'string' && parsed.l === list) {
      return parsed as Cursor;
    }
  } catch {
    // falls through to the error below
  }
  throw new ValidationError([
    { field: 'cursor', message: 'is not a cursor from a previous page of this list' },
  ]);
}
