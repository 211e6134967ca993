/**
 * Reads members of a JSON request body and collects constraint violations the way the Lambda API
 * reports them: every violation of the request in one ValidationException, each phrased
 * `Value '<v>' at '<member>' failed to satisfy constraint: <constraint>`.
 */
import { invalidRequestContent, validationException } from './errors.ts';

/** Constraints of a string member. */
export interface StringRule {
  readonly required?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** The pattern as the API model spells it, quoted in the message. */
  readonly patternText?: string;
  readonly oneOf?: readonly string[];
}

/** Constraints of an integer member. */
export interface IntegerRule {
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/** The model name of a member: `MemorySize` → `memorySize`. */
function memberName(key: string): string {
  return key.charAt(0).toLowerCase() + key.slice(1);
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Parses a request body as a JSON object; an empty body is `{}`.
 *
 * @throws LambdaApiError InvalidRequestContentException when it is not a JSON object
 */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw Object.assign(
      invalidRequestContent(`Could not parse request body into json: ${(error as Error).message}`),
      { cause: error },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidRequestContent('Could not parse request body into json: the body is not a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Typed reads of one request's members; call {@link Input.done} to throw what was collected. */
export class Input {
  readonly #body: Record<string, unknown>;
  readonly #prefix: string;
  readonly violations: string[];

  constructor(body: Record<string, unknown>, prefix = '', violations: string[] = []) {
    this.#body = body;
    this.#prefix = prefix;
    this.violations = violations;
  }

  /** Whether the member is present (not undefined or null). */
  has(key: string): boolean {
    const value = this.#body[key];
    return value !== undefined && value !== null;
  }

  /** Records a violation of `key` with AWS's phrasing. */
  violate(key: string, value: unknown, constraint: string): void {
    const shown = value === undefined || value === null ? 'null' : `'${show(value)}'`;
    this.violations.push(
      `Value ${shown} at '${this.#prefix}${memberName(key)}' failed to satisfy constraint: ${constraint}`,
    );
  }

  string(key: string, rule: StringRule = {}): string | undefined {
    const value = this.#body[key];
    if (value === undefined || value === null) {
      if (rule.required) this.violate(key, value, 'Member must not be null');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.violate(key, value, 'Member must be a string');
      return undefined;
    }
    if (rule.minLength !== undefined && value.length < rule.minLength) {
      this.violate(key, value, `Member must have length greater than or equal to ${rule.minLength}`);
      return undefined;
    }
    if (rule.maxLength !== undefined && value.length > rule.maxLength) {
      this.violate(key, value, `Member must have length less than or equal to ${rule.maxLength}`);
      return undefined;
    }
    if (rule.oneOf !== undefined && !rule.oneOf.includes(value)) {
      this.violate(key, value, `Member must satisfy enum value set: [${rule.oneOf.join(', ')}]`);
      return undefined;
    }
    if (rule.pattern !== undefined && !rule.pattern.test(value)) {
      this.violate(
        key,
        value,
        `Member must satisfy regular expression pattern: ${rule.patternText ?? rule.pattern.source}`,
      );
      return undefined;
    }
    return value;
  }

  integer(key: string, rule: IntegerRule = {}): number | undefined {
    const value = this.#body[key];
    if (value === undefined || value === null) {
      if (rule.required) this.violate(key, value, 'Member must not be null');
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.violate(key, value, 'Member must be an integer');
      return undefined;
    }
    if (rule.min !== undefined && value < rule.min) {
      this.violate(key, value, `Member must have value greater than or equal to ${rule.min}`);
      return undefined;
    }
    if (rule.max !== undefined && value > rule.max) {
      this.violate(key, value, `Member must have value less than or equal to ${rule.max}`);
      return undefined;
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.#body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.violate(key, value, 'Member must be a boolean');
      return undefined;
    }
    return value;
  }

  /** A nested structure, read with the same violation list and a dotted prefix. */
  object(key: string): Input | undefined {
    const value = this.#body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.violate(key, value, 'Member must be a structure');
      return undefined;
    }
    return new Input(value as Record<string, unknown>, `${this.#prefix}${memberName(key)}.`, this.violations);
  }

  /** A map of string to string (tags, environment variables). */
  stringMap(key: string): Record<string, string> | undefined {
    const value = this.#body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.violate(key, value, 'Member must be a map of string to string');
      return undefined;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.some(([, v]) => typeof v !== 'string')) {
      this.violate(key, value, 'Member must be a map of string to string');
      return undefined;
    }
    return Object.fromEntries(entries) as Record<string, string>;
  }

  /** A list of strings. */
  stringList(key: string, rule: { maxItems?: number } = {}): string[] | undefined {
    const value = this.#body[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
      this.violate(key, value, 'Member must be a list of strings');
      return undefined;
    }
    if (rule.maxItems !== undefined && value.length > rule.maxItems) {
      this.violate(key, value, `Member must have length less than or equal to ${rule.maxItems}`);
      return undefined;
    }
    return value as string[];
  }

  /** The raw value of a member, for members echoed back as they came. */
  raw(key: string): unknown {
    return this.#body[key];
  }

  /** @throws LambdaApiError ValidationException listing every violation collected so far */
  done(): void {
    if (this.violations.length > 0) throw validationException(this.violations);
  }
}
