/**
 * CloudWatch Logs filter patterns for unstructured log events, as FilterLogEvents takes them
 * (CloudWatch Logs User Guide, "Filter pattern syntax for metric filters, subscription filters,
 * filter log events, and Live Tail"):
 *
 * - an empty pattern matches every event;
 * - `ERROR`: a term; several terms (`ERROR timeout`) must all appear;
 * - `"Task timed out"`: a quoted phrase, matched as written (spaces and punctuation included);
 * - `?ERROR ?WARN`: an event matches when at least one `?` term appears;
 * - `ERROR -Retrying`: `-` excludes events where the term appears;
 * - `%[0-9]{3}%`: a regular expression between percent signs.
 *
 * Terms are case-sensitive and match anywhere in the message. JSON (`{ $.level = "ERROR" }`) and
 * space-delimited (`[ip, user, ...]`) patterns are refused with `InvalidParameterException`.
 */
import { invalidParameter, type LogsApiError } from './errors.ts';

/** A compiled filter pattern: whether a log event's message matches. */
export type MessageFilter = (message: string) => boolean;

type Matcher = (message: string) => boolean;

/** One term of a pattern: how it is matched and how it combines (`all`, `any` for `?`, `none` for `-`). */
interface Term {
  readonly kind: 'all' | 'any' | 'none';
  readonly matches: Matcher;
}

/** CloudWatch Logs: `filterPattern` is at most 1024 characters (FilterLogEvents API reference). */
export const filterPatternMaxLength = 1024;

function unsupported(pattern: string): LogsApiError {
  return invalidParameter(
    `The local CloudWatch Logs emulator matches terms, "quoted phrases", ?term, -term and %regex% only; ${pattern.trimStart().startsWith('{') ? 'JSON ({ ... })' : 'space-delimited ([ ... ])'} filter patterns are not supported`,
  );
}

/** Reads the term that starts at `start`: a quoted phrase, a `%regex%`, or a run of non-blank characters. */
function readTerm(pattern: string, start: number): { matches: Matcher; end: number } {
  const first = pattern[start];
  if (first === '"') {
    let text = '';
    for (let i = start + 1; i < pattern.length; i++) {
      const char = pattern[i] as string;
      if (char === '\\' && i + 1 < pattern.length) {
        text += pattern[++i];
      } else if (char === '"') {
        return { matches: (message) => message.includes(text), end: i + 1 };
      } else {
        text += char;
      }
    }
    throw invalidParameter(`Invalid filter pattern: the quoted phrase at position ${start} has no closing "`);
  }
  if (first === '%') {
    const close = pattern.indexOf('%', start + 1);
    if (close < 0)
      throw invalidParameter(
        `Invalid filter pattern: the regular expression at position ${start} has no closing %`,
      );
    const source = pattern.slice(start + 1, close);
    let regex: RegExp;
    try {
      regex = new RegExp(source);
    } catch (error) {
      throw Object.assign(
        invalidParameter(`Invalid filter pattern: %${source}% is not a valid regular expression`),
        {
          cause: error,
        },
      );
    }
    return { matches: (message) => regex.test(message), end: close + 1 };
  }
  let end = start;
  while (end < pattern.length && !/\s/.test(pattern[end] as string)) end++;
  const text = pattern.slice(start, end);
  return { matches: (message) => message.includes(text), end };
}

/**
 * Compiles a filter pattern (see the module comment).
 *
 * @param pattern - FilterLogEvents' `filterPattern`; undefined or blank matches every event
 * @throws LogsApiError `InvalidParameterException` for an unterminated phrase or regex, an invalid
 *   regex, or a JSON or space-delimited pattern
 * @example
 * const matches = compileFilterPattern('ERROR -Retrying');
 * matches('ERROR disk full'); // true
 * matches('ERROR Retrying in 1 s'); // false
 */
export function compileFilterPattern(pattern: string | undefined): MessageFilter {
  if (pattern === undefined || pattern.trim() === '') return () => true;
  const trimmed = pattern.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) throw unsupported(pattern);
  const terms: Term[] = [];
  let i = 0;
  while (i < pattern.length) {
    if (/\s/.test(pattern[i] as string)) {
      i++;
      continue;
    }
    let kind: Term['kind'] = 'all';
    const prefix = pattern[i];
    if (
      (prefix === '?' || prefix === '-') &&
      i + 1 < pattern.length &&
      !/\s/.test(pattern[i + 1] as string)
    ) {
      kind = prefix === '?' ? 'any' : 'none';
      i++;
    }
    const { matches, end } = readTerm(pattern, i);
    terms.push({ kind, matches });
    i = end;
  }
  const all = terms.filter((term) => term.kind === 'all');
  const any = terms.filter((term) => term.kind === 'any');
  const none = terms.filter((term) => term.kind === 'none');
  return (message) =>
    all.every((term) => term.matches(message)) &&
    (any.length === 0 || any.some((term) => term.matches(message))) &&
    !none.some((term) => term.matches(message));
}
