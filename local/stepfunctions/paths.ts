/**
 * Evaluation of ASL *reference paths* (`$`, `$.a.b`, `$['a'][0]`, `$$.Execution.Input`): the
 * subset of JSONPath that names a single node, as `ItemsPath` must be. Used to report a Map
 * state's item count in `MapStateStarted`; the runner itself evaluates every path.
 *
 * @see https://states-language.net/#ref-paths
 */
import type { Json } from './definition.ts';

const segmentPattern = /^(?:\.([A-Za-z_][\w-]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\])/;

/**
 * Evaluates a reference path against `input` (or `context` for paths starting with `$$`).
 *
 * @returns `{ value }` when the path is a reference path that names an existing node, else `undefined`
 */
export function evaluateReferencePath(path: string, input: Json, context: Json): { value: Json } | undefined {
  let current: Json | undefined;
  let rest: string;
  if (path.startsWith('$$')) {
    current = context;
    rest = path.slice(2);
  } else if (path.startsWith('$')) {
    current = input;
    rest = path.slice(1);
  } else {
    return undefined;
  }
  while (rest.length > 0) {
    const match = segmentPattern.exec(rest);
    if (match === null || current === undefined || current === null || typeof current !== 'object')
      return undefined;
    const [whole, dotted, quoted, index] = match;
    if (index !== undefined) {
      if (!Array.isArray(current)) return undefined;
      current = current[Number(index)];
    } else {
      if (Array.isArray(current)) return undefined;
      const key = dotted ?? (quoted ?? '').replace(/\\(.)/g, '$1');
      current = Object.hasOwn(current, key) ? current[key] : undefined;
    }
    rest = rest.slice(whole.length);
  }
  return current === undefined ? undefined : { value: current };
}
