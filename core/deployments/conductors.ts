/**
 * The conductor registry as the deployment steps receive it: `GRECO_CONDUCTORS`, a JSON array
 * of `{ name, functionArn }` set by the CDK from `lib/conductors.ts`.
 *
 * @module
 */
import { conductorNamePattern } from '../../domain/names.ts';
import type { ConductorRegistration } from './types.ts';

/** The registry is not a non-empty JSON array of unique, well-formed registrations. */
export class InvalidConductorRegistryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidConductorRegistryError';
  }
}

/**
 * Parses the conductor registry.
 *
 * @example
 * parseConductorRegistry('[{"name":"lambda","functionArn":"arn:aws:lambda:…:function:greco-lambda-conductor"}]');
 * @throws InvalidConductorRegistryError naming what is wrong
 */
export function parseConductorRegistry(text: string): ConductorRegistration[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidConductorRegistryError('the conductor registry is not JSON', { cause: error });
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new InvalidConductorRegistryError('the conductor registry must be a non-empty JSON array');
  }
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    const { name, functionArn } = (entry ?? {}) as { name?: unknown; functionArn?: unknown };
    if (typeof name !== 'string' || !conductorNamePattern.test(name)) {
      throw new InvalidConductorRegistryError(
        `conductors[${i}].name must match ${conductorNamePattern}, got ${JSON.stringify(name)}`,
      );
    }
    if (typeof functionArn !== 'string' || functionArn === '') {
      throw new InvalidConductorRegistryError(`conductors[${i}].functionArn must be a non-empty string`);
    }
    if (seen.has(name)) throw new InvalidConductorRegistryError(`conductor ${name} is registered twice`);
    seen.add(name);
    return { name, functionArn };
  });
}
