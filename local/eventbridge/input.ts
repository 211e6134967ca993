/**
 * What a rule target receives: the whole event, a constant `Input`, the part of the event an
 * `InputPath` selects, or an `InputTransformer`'s template filled from the event.
 *
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */
import { isObject } from '../../domain/objects.ts';

/** Thrown for an `InputPath` or `InputPathsMap` entry that is not a JSON path EventBridge accepts. */
export class InvalidJsonPathError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidJsonPathError';
  }
}

/** An input transformer, as PutTargets takes it. */
export interface InputTransformer {
  readonly InputPathsMap?: Readonly<Record<string, string>>;
  readonly InputTemplate: string;
}

/** The parts of a target that shape its input. */
export interface TargetInput {
  readonly Input?: string;
  readonly InputPath?: string;
  readonly InputTransformer?: InputTransformer;
}

/** The rule a delivery comes from, for the reserved template variables. */
export interface RuleContext {
  readonly name: string;
  readonly arn: string;
}

type Step = string | number;

/**
 * Parses the JSON paths EventBridge uses: `$`, `$.detail.state`, `$.detail-type`,
 * `$.resources[0]`, `$['a b']`.
 *
 * @throws InvalidJsonPathError for anything else
 */
export function parseJsonPath(path: string): Step[] {
  if (!path.startsWith('$')) throw new InvalidJsonPathError(`${JSON.stringify(path)} does not start with $`);
  const steps: Step[] = [];
  let i = 1;
  while (i < path.length) {
    const rest = path.slice(i);
    const dot = /^\.([^.[\]'"\s]+)/.exec(rest);
    const index = /^\[(\d+)\]/.exec(rest);
    const quoted = /^\[(?:'([^']*)'|"([^"]*)")\]/.exec(rest);
    if (dot !== null) {
      steps.push(dot[1] ?? '');
      i += dot[0].length;
    } else if (index !== null) {
      steps.push(Number(index[1]));
      i += index[0].length;
    } else if (quoted !== null) {
      steps.push(quoted[1] ?? quoted[2] ?? '');
      i += quoted[0].length;
    } else {
      throw new InvalidJsonPathError(
        `${JSON.stringify(path)} is not a valid JSON path (at ${JSON.stringify(rest)})`,
      );
    }
  }
  return steps;
}

/** The value at `path` in `value`, or `undefined` when a step finds nothing. */
export function selectPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const step of parseJsonPath(path)) {
    if (typeof step === 'number') {
      current = Array.isArray(current) ? current[step] : undefined;
    } else if (isObject(current)) {
      current = Object.hasOwn(current, step) ? current[step] : undefined;
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/** Escapes text for the inside of a JSON string (without the quotes). */
function jsonStringContent(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * Fills an input template: `<name>` placeholders take the values of `InputPathsMap` and the
 * reserved `<aws.events.event>`, `<aws.events.event.json>`, `<aws.events.rule-name>`,
 * `<aws.events.rule-arn>`, `<aws.events.event.ingestion-time>`. Inside a JSON string a value is
 * written as text; elsewhere as JSON. A missing value is written as `null` (outside strings)
 * or nothing (inside strings).
 */
export function fillTemplate(
  transformer: InputTransformer,
  event: Record<string, unknown>,
  rule: RuleContext,
  ingestionTime: string,
): string {
  const values = new Map<string, unknown>();
  for (const [name, path] of Object.entries(transformer.InputPathsMap ?? {}))
    values.set(name, selectPath(event, path));
  values.set('aws.events.event', event);
  values.set('aws.events.event.json', event);
  values.set('aws.events.rule-name', rule.name);
  values.set('aws.events.rule-arn', rule.arn);
  values.set('aws.events.event.ingestion-time', ingestionTime);
  const template = transformer.InputTemplate;
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i] ?? '';
    if (c === '\\' && inString) {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inString = !inString;
    if (c === '<') {
      const end = template.indexOf('>', i);
      const name = end === -1 ? '' : template.slice(i + 1, end);
      if (end !== -1 && values.has(name)) {
        const value = values.get(name);
        if (inString) {
          out +=
            value === undefined || value === null
              ? ''
              : jsonStringContent(typeof value === 'string' ? value : JSON.stringify(value));
        } else {
          out += value === undefined ? 'null' : JSON.stringify(value);
        }
        i = end;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/**
 * The payload a target receives for `event`, as JSON text.
 *
 * @throws InvalidJsonPathError when a stored path is invalid (PutTargets refuses those first)
 */
export function targetPayload(
  target: TargetInput,
  event: Record<string, unknown>,
  rule: RuleContext,
  ingestionTime: string,
): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) {
    const selected = selectPath(event, target.InputPath);
    return selected === undefined ? 'null' : JSON.stringify(selected);
  }
  if (target.InputTransformer !== undefined) {
    const filled = fillTemplate(target.InputTransformer, event, rule, ingestionTime);
    try {
      JSON.parse(filled);
      return filled;
    } catch {
      // A template that is plain text (not JSON) reaches the target as a JSON string.
      return JSON.stringify(filled);
    }
  }
  return JSON.stringify(event);
}
