/**
 * EventBridge event patterns: validation and matching.
 *
 * A pattern is a JSON object whose fields mirror the event's; every leaf is an array of
 * matchers, any of which may match (OR), and all fields must match (AND). Matchers: exact
 * values (strings, numbers, booleans, null), `prefix`, `suffix` (each optionally
 * `{"equals-ignore-case": ...}`), `equals-ignore-case`, `anything-but` (a value, a list, or a
 * `prefix` / `suffix` / `equals-ignore-case` / `wildcard`), `numeric` ranges, `exists`,
 * `cidr`, `wildcard`, and `$or` between sub-patterns. An event array matches when any element
 * does; a pattern object applied to an array of objects matches when any element does.
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
import { isObject } from '../../domain/objects.ts';

/** Thrown for a pattern EventBridge would refuse; `message` is the reason. */
export class InvalidEventPatternError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidEventPatternError';
  }
}

type Scalar = string | number | boolean | null;

type Matcher =
  | { readonly type: 'exact'; readonly value: Scalar }
  | {
      readonly type: 'prefix' | 'suffix' | 'equals-ignore-case';
      readonly value: string;
      readonly ignoreCase: boolean;
    }
  | { readonly type: 'anything-but'; readonly matchers: readonly Matcher[] }
  | { readonly type: 'numeric'; readonly bounds: readonly { readonly op: string; readonly value: number }[] }
  | { readonly type: 'exists'; readonly value: boolean }
  | { readonly type: 'cidr'; readonly network: bigint; readonly mask: bigint; readonly v6: boolean }
  | { readonly type: 'wildcard'; readonly regex: RegExp };

interface ObjectNode {
  readonly kind: 'object';
  readonly fields: readonly (readonly [string, PatternNode])[];
  /** The `$or` alternatives of this level, if any. */
  readonly or?: readonly ObjectNode[];
}

interface LeafNode {
  readonly kind: 'leaf';
  readonly matchers: readonly Matcher[];
}

type PatternNode = ObjectNode | LeafNode;

/** A validated pattern. */
export interface EventPattern {
  /** Whether `event` (a parsed JSON value) matches. */
  matches(event: unknown): boolean;
}

function fail(reason: string): never {
  throw new InvalidEventPatternError(reason);
}

function wildcardRegex(pattern: string, path: string): RegExp {
  if (pattern.includes('**')) fail(`Consecutive wildcard characters at "${path}" are not allowed`);
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      source += `\\${pattern[i + 1]}`;
      i++;
    } else if (c === '*') {
      source += '.*';
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0]?.split(':') ?? []);
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1]?.split(':') ?? [])) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  }
  return value;
}

function parseIp(text: string): { value: bigint; v6: boolean } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { value: v4, v6: false };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { value: v6, v6: true };
}

function compileCidr(value: unknown, path: string): Matcher {
  if (typeof value !== 'string') fail(`"cidr" at "${path}" must be a string`);
  const [address = '', bitsText] = value.split('/');
  const ip = parseIp(address);
  const width = ip?.v6 ? 128 : 32;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > width) {
    fail(`"cidr" at "${path}" is not a valid CIDR block: ${value}`);
  }
  const all = (1n << BigInt(width)) - 1n;
  const mask = (all << BigInt(width - bits)) & all;
  return { type: 'cidr', network: ip.value & mask, mask, v6: ip.v6 };
}

const numericOps = new Set(['=', '<', '<=', '>', '>=']);

function compileNumeric(value: unknown, path: string): Matcher {
  if (!Array.isArray(value) || value.length === 0 || value.length % 2 !== 0) {
    fail(`"numeric" at "${path}" must be a list of operator/value pairs`);
  }
  const bounds: { op: string; value: number }[] = [];
  for (let i = 0; i < value.length; i += 2) {
    const op = value[i];
    const operand = value[i + 1];
    if (typeof op !== 'string' || !numericOps.has(op))
      fail(`Unrecognized numeric range operator: ${String(op)}`);
    if (typeof operand !== 'number' || !Number.isFinite(operand)) {
      fail(`Value of numeric operator ${op} at "${path}" must be a number`);
    }
    bounds.push({ op, value: operand });
  }
  const lower = bounds.filter((b) => b.op === '>' || b.op === '>=');
  const upper = bounds.filter((b) => b.op === '<' || b.op === '<=');
  const equal = bounds.filter((b) => b.op === '=');
  if (lower.length > 1 || upper.length > 1 || (equal.length > 0 && bounds.length > 1)) {
    fail(`"numeric" at "${path}" allows one "=" or at most one lower and one upper bound`);
  }
  const low = lower[0];
  const high = upper[0];
  if (low !== undefined && high !== undefined && low.value >= high.value) {
    fail(`Bottom must be less than top in the numeric range at "${path}"`);
  }
  return { type: 'numeric', bounds };
}

function compileStringOperator(type: 'prefix' | 'suffix', value: unknown, path: string): Matcher {
  if (typeof value === 'string') return { type, value, ignoreCase: false };
  if (isObject(value) && Object.keys(value).length === 1 && typeof value['equals-ignore-case'] === 'string') {
    return { type, value: value['equals-ignore-case'], ignoreCase: true };
  }
  fail(`"${type}" at "${path}" must be a string or {"equals-ignore-case": string}`);
}

function compileAnythingBut(value: unknown, path: string): Matcher {
  const scalar = (v: unknown): Matcher => {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))
      return { type: 'exact', value: v };
    fail(`Inside anything-but list at "${path}", only strings and numbers are allowed`);
  };
  if (Array.isArray(value)) {
    if (value.length === 0) fail(`Empty arrays are not allowed in anything-but at "${path}"`);
    return { type: 'anything-but', matchers: value.map(scalar) };
  }
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length !== 1) fail(`anything-but at "${path}" takes exactly one operator`);
    const key = keys[0] ?? '';
    const operand = value[key];
    switch (key) {
      case 'prefix':
      case 'suffix':
        if (typeof operand !== 'string') fail(`anything-but/${key} at "${path}" must be a string`);
        return { type: 'anything-but', matchers: [{ type: key, value: operand, ignoreCase: false }] };
      case 'equals-ignore-case': {
        const list = Array.isArray(operand) ? operand : [operand];
        if (list.length === 0 || list.some((v) => typeof v !== 'string')) {
          fail(`anything-but/equals-ignore-case at "${path}" must be a string or a list of strings`);
        }
        return {
          type: 'anything-but',
          matchers: (list as string[]).map((v) => ({
            type: 'equals-ignore-case',
            value: v,
            ignoreCase: true,
          })),
        };
      }
      case 'wildcard': {
        const list = Array.isArray(operand) ? operand : [operand];
        if (list.length === 0 || list.some((v) => typeof v !== 'string')) {
          fail(`anything-but/wildcard at "${path}" must be a string or a list of strings`);
        }
        return {
          type: 'anything-but',
          matchers: (list as string[]).map((v) => ({ type: 'wildcard', regex: wildcardRegex(v, path) })),
        };
      }
      default:
        fail(`Unsupported anything-but pattern at "${path}": ${key}`);
    }
  }
  return { type: 'anything-but', matchers: [scalar(value)] };
}

function compileMatcher(value: unknown, path: string): Matcher {
  if (value === null || typeof value === 'string' || typeof value === 'boolean')
    return { type: 'exact', value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`Number at "${path}" is not finite`);
    return { type: 'exact', value };
  }
  if (Array.isArray(value)) fail(`Nested arrays are not allowed at "${path}"`);
  if (!isObject(value)) fail(`Unsupported value at "${path}"`);
  const keys = Object.keys(value);
  if (keys.length !== 1)
    fail(`A match expression at "${path}" must have exactly one operator, got ${keys.length}`);
  const key = keys[0] ?? '';
  const operand = value[key];
  switch (key) {
    case 'prefix':
    case 'suffix':
      return compileStringOperator(key, operand, path);
    case 'equals-ignore-case':
      if (typeof operand !== 'string') fail(`"equals-ignore-case" at "${path}" must be a string`);
      return { type: 'equals-ignore-case', value: operand, ignoreCase: true };
    case 'anything-but':
      return compileAnythingBut(operand, path);
    case 'numeric':
      return compileNumeric(operand, path);
    case 'exists':
      if (typeof operand !== 'boolean') fail(`"exists" at "${path}" must be true or false`);
      return { type: 'exists', value: operand };
    case 'cidr':
      return compileCidr(operand, path);
    case 'wildcard':
      if (typeof operand !== 'string') fail(`"wildcard" at "${path}" must be a string`);
      return { type: 'wildcard', regex: wildcardRegex(operand, path) };
    default:
      fail(`Unrecognized match type ${key} at "${path}"`);
  }
}

function compileObject(pattern: Record<string, unknown>, path: string): ObjectNode {
  const keys = Object.keys(pattern);
  if (keys.length === 0) fail(`Empty objects are not allowed${path === '' ? '' : ` at "${path}"`}`);
  const fields: [string, PatternNode][] = [];
  let or: ObjectNode[] | undefined;
  for (const key of keys) {
    const value = pattern[key];
    const here = path === '' ? key : `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2)
        fail(`"$or" at "${here}" must be a list of at least two patterns`);
      or = value.map((alternative, i) => {
        if (!isObject(alternative)) fail(`"$or" alternative ${i} at "${here}" must be an object`);
        return compileObject(alternative, path);
      });
      continue;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) fail(`Empty arrays are not allowed at "${here}"`);
      fields.push([key, { kind: 'leaf', matchers: value.map((m) => compileMatcher(m, here)) }]);
    } else if (isObject(value)) {
      fields.push([key, compileObject(value, here)]);
    } else {
      fail(`"${here}" must be an object or an array`);
    }
  }
  return or === undefined ? { kind: 'object', fields } : { kind: 'object', fields, or };
}

function matchesMatcher(matcher: Matcher, value: unknown): boolean {
  switch (matcher.type) {
    case 'exact':
      return value === matcher.value;
    case 'prefix':
      return (
        typeof value === 'string' &&
        (matcher.ignoreCase
          ? value.toLowerCase().startsWith(matcher.value.toLowerCase())
          : value.startsWith(matcher.value))
      );
    case 'suffix':
      return (
        typeof value === 'string' &&
        (matcher.ignoreCase
          ? value.toLowerCase().endsWith(matcher.value.toLowerCase())
          : value.endsWith(matcher.value))
      );
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === matcher.value.toLowerCase();
    case 'anything-but':
      return (
        (typeof value === 'string' || typeof value === 'number') &&
        !matcher.matchers.some((inner) => matchesMatcher(inner, value))
      );
    case 'numeric':
      return (
        typeof value === 'number' &&
        matcher.bounds.every(({ op, value: bound }) => {
          switch (op) {
            case '=':
              return value === bound;
            case '<':
              return value < bound;
            case '<=':
              return value <= bound;
            case '>':
              return value > bound;
            default:
              return value >= bound;
          }
        })
      );
    case 'cidr': {
      if (typeof value !== 'string') return false;
      const ip = parseIp(value);
      return ip !== undefined && ip.v6 === matcher.v6 && (ip.value & matcher.mask) === matcher.network;
    }
    case 'wildcard':
      return typeof value === 'string' && matcher.regex.test(value);
    case 'exists':
      return false; // handled by matchesLeaf: it is about presence, not a value
  }
}

function matchesLeaf(node: LeafNode, value: unknown): boolean {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const leaves = values.filter((v) => !isObject(v) && !Array.isArray(v));
  return node.matchers.some((matcher) => {
    if (matcher.type === 'exists') return matcher.value ? leaves.length > 0 : value === undefined;
    return leaves.some((v) => matchesMatcher(matcher, v));
  });
}

function matchesObject(node: ObjectNode, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((element) => matchesObject(node, element));
  if (value !== undefined && !isObject(value)) return false;
  const object: Record<string, unknown> = value ?? {};
  for (const [key, child] of node.fields) {
    const field = Object.hasOwn(object, key) ? object[key] : undefined;
    const ok = child.kind === 'leaf' ? matchesLeaf(child, field) : matchesObject(child, field);
    if (!ok) return false;
  }
  return node.or === undefined || node.or.some((alternative) => matchesObject(alternative, object));
}

/**
 * Validates a pattern (a parsed JSON value).
 *
 * @throws InvalidEventPatternError with EventBridge's kind of reason
 */
export function compileEventPattern(pattern: unknown): EventPattern {
  if (!isObject(pattern)) fail('Filter is not an object');
  const root = compileObject(pattern, '');
  return { matches: (event) => matchesObject(root, event) };
}

/**
 * Parses and validates a pattern given as JSON text (`EventPattern` of PutRule).
 *
 * @throws InvalidEventPatternError when the text is not JSON or the pattern is invalid
 */
export function parseEventPattern(text: string): EventPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidEventPatternError('Filter is not valid JSON', { cause: error });
  }
  return compileEventPattern(parsed);
}
