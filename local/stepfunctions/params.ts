/**
 * Reading the members of an awsJson1_0 request body, with AWS's error names and wording for
 * missing or malformed members.
 */
import { StepFunctionsApiError, validationError } from './errors.ts';

/** The members of one request body, read with checks. */
export class RequestParams {
  readonly #body: Record<string, unknown>;

  /** @throws StepFunctionsApiError `SerializationException` when `body` is not a JSON object */
  constructor(body: unknown) {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new StepFunctionsApiError('SerializationException', 'the request body must be a JSON object');
    }
    this.#body = body as Record<string, unknown>;
  }

  #typed<T>(member: string, type: 'string' | 'number' | 'boolean'): T | undefined {
    const value = this.#body[member];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== type) {
      throw new StepFunctionsApiError(
        'SerializationException',
        `member '${member}' must be a ${type}, got ${JSON.stringify(value).slice(0, 100)}`,
      );
    }
    return value as T;
  }

  /**
   * An optional string member, `maxLength` in characters.
   * @throws StepFunctionsApiError `ValidationException` when longer or shorter than allowed
   */
  optionalString(
    member: string,
    options: { minLength?: number; maxLength?: number } = {},
  ): string | undefined {
    const value = this.#typed<string>(member, 'string');
    if (value === undefined) return undefined;
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      throw validationError(member, `Member must have length less than or equal to ${options.maxLength}`);
    }
    if (options.minLength !== undefined && value.length < options.minLength) {
      throw validationError(member, `Member must have length greater than or equal to ${options.minLength}`);
    }
    return value;
  }

  /** A required string member. @throws StepFunctionsApiError `ValidationException` when missing */
  requiredString(member: string, options: { minLength?: number; maxLength?: number } = {}): string {
    const value = this.optionalString(member, options);
    if (value === undefined) {
      throw new StepFunctionsApiError(
        'ValidationException',
        `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return value;
  }

  /** An optional integer member within `[min, max]`. */
  optionalInteger(member: string, min: number, max: number): number | undefined {
    const value = this.#typed<number>(member, 'number');
    if (value === undefined) return undefined;
    if (!Number.isInteger(value)) {
      throw new StepFunctionsApiError('SerializationException', `member '${member}' must be an integer`);
    }
    if (value < min)
      throw validationError(member, `Member must have value greater than or equal to ${min}`, value);
    if (value > max)
      throw validationError(member, `Member must have value less than or equal to ${max}`, value);
    return value;
  }

  /** An optional boolean member. */
  optionalBoolean(member: string): boolean | undefined {
    return this.#typed<boolean>(member, 'boolean');
  }

  /** An optional member whose value must be one of `allowed`. */
  optionalEnum<T extends string>(member: string, allowed: readonly T[]): T | undefined {
    const value = this.optionalString(member);
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      throw validationError(member, `Member must satisfy enum value set: [${allowed.join(', ')}]`, value);
    }
    return value as T;
  }

  /** An optional member of any JSON shape, unchecked. */
  raw(member: string): unknown {
    return this.#body[member];
  }
}
