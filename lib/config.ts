import type { Node } from 'constructs';
import { maxReservedConcurrency } from '../domain/concurrency/protocol.ts';
import { defaultRolesClaim, defaultWorkspaceClaim } from '../domain/env.ts';
import { defaultAccountConcurrency, minUnreservedConcurrency } from '../domain/lambda-quotas.ts';
import { defaultManagedPrefix, managedPrefixPattern, maxManagedPrefixLength } from '../domain/names.ts';

/**
 * CDK context keys that configure greco. Set defaults in `cdk.json` under `context`, override one
 * deployment with `cdk deploy -c greco:managedPrefix=acme`. Documented in docs/deploying.md.
 */
export const ContextKeys = {
  /** Prefix of every managed data-plane Lambda name: `<prefix>-<workspace>-<name>`. */
  managedPrefix: 'greco:managedPrefix',
  /** OIDC issuer URL (https) whose JWTs the API accepts. Absent: a Cognito user pool is created. */
  jwtIssuer: 'greco:jwtIssuer',
  /** Accepted JWT audiences (`aud` or `client_id`), comma-separated. Required with `greco:jwtIssuer`. */
  jwtAudience: 'greco:jwtAudience',
  /** JWT claim that carries the caller's workspace id. */
  workspaceClaim: 'greco:workspaceClaim',
  /** JWT claim that carries the caller's roles. */
  rolesClaim: 'greco:rolesClaim',
  /**
   * The account's Lambda concurrent executions quota, when raised above Lambda's default 1,000:
   * drafts accept a `reservedConcurrency` of at most this minus the 100 Lambda keeps unreserved.
   */
  accountConcurrency: 'greco:accountConcurrency',
  /**
   * The two-person rule: `true` makes the deployments API refuse (403) a deployment whose approver
   * is the draft's last editor. Default off.
   */
  twoPersonRule: 'greco:twoPersonRule',
} as const;

/**
 * Largest `greco:accountConcurrency`: the most reserved concurrency greco writes (9,999,999, what
 * the `greco:reserved-concurrency` tag holds), plus the 100 Lambda keeps unreserved.
 */
export const maxAccountConcurrency = maxReservedConcurrency + minUnreservedConcurrency;

/**
 * Most audiences an HTTP API JWT authorizer accepts (API Gateway quotas, "Number of audiences
 * per authorizer for JWT authorizers": 50).
 */
export const maxJwtAudiences = 50;

/** JWT claim names: anything printable without whitespace, e.g. `custom:workspace`, `https://x/roles`. */
const claimNamePattern = /^[\x21-\x7e]{1,256}$/;

/** Where the API's JWTs come from: an external OIDC issuer, or the stack's own Cognito user pool. */
export type JwtSource =
  | {
      readonly kind: 'external';
      /** Issuer URL, `https://...`, exactly as in the tokens' `iss` claim. */
      readonly issuer: string;
      /** Accepted audiences (1..50): matched against `aud`, or `client_id` for access tokens. */
      readonly audience: readonly string[];
    }
  | { readonly kind: 'cognito' };

/** greco's deployment settings, read from CDK context by {@link readGrecoConfig}. */
export interface GrecoConfig {
  /** Lowercase letters and digits, starts with a letter, 1..16 characters (see {@link maxManagedPrefixLength}). */
  readonly managedPrefix: string;
  readonly jwt: JwtSource;
  /** Claim carrying the workspace id. Default `custom:workspace` (the user pool's custom attribute). */
  readonly workspaceClaim: string;
  /** Claim carrying the roles. Default `cognito:groups` (the user pool's groups). */
  readonly rolesClaim: string;
  /**
   * The account's Lambda concurrent executions quota, 100..10,000,099. Default 1,000, Lambda's
   * (domain/lambda-quotas.ts).
   */
  readonly accountConcurrency: number;
  /**
   * The two-person rule (`greco:twoPersonRule`): the deploying approver must not be the draft's
   * last editor. Present (`true`) only when on.
   * @default false
   */
  readonly twoPersonRule?: boolean;
}

/** A CDK context value is missing, malformed, or inconsistent with another one. Nothing is synthesized. */
export class GrecoConfigError extends Error {
  /** The context key at fault, e.g. `greco:jwtIssuer`. */
  readonly key: string;
  constructor(key: string, message: string, options?: ErrorOptions) {
    super(`context ${key}: ${message}`, options);
    this.name = 'GrecoConfigError';
    this.key = key;
  }
}

/**
 * Reads and validates greco's context values from a construct's node (app context, `cdk.json` and
 * `-c` overrides all end up there).
 *
 * Rules: `greco:managedPrefix` matches `^[a-z][a-z0-9]{0,15}$`; `greco:jwtIssuer` is an `https` URL
 * and comes with `greco:jwtAudience` (a comma-separated string or a string array of 1..50 non-empty
 * audiences), or neither is set (then the stack creates a Cognito user pool); claim names are
 * 1..256 printable characters without spaces; `greco:accountConcurrency` is an integer from 100 to
 * {@link maxAccountConcurrency}.
 *
 * @throws GrecoConfigError naming the key and the bad value.
 * @example
 * const config = readGrecoConfig(stack.node); // { managedPrefix: 'greco', jwt: { kind: 'cognito' }, ... }
 */
export function readGrecoConfig(node: Node): GrecoConfig {
  const managedPrefix = readString(node, ContextKeys.managedPrefix) ?? defaultManagedPrefix;
  if (!managedPrefixPattern.test(managedPrefix)) {
    throw new GrecoConfigError(
      ContextKeys.managedPrefix,
      `must be 1 to ${maxManagedPrefixLength} lowercase letters or digits starting with a letter, got ${JSON.stringify(managedPrefix)}`,
    );
  }
  const workspaceClaim = readClaimName(node, ContextKeys.workspaceClaim) ?? defaultWorkspaceClaim;
  const rolesClaim = readClaimName(node, ContextKeys.rolesClaim) ?? defaultRolesClaim;
  return {
    managedPrefix,
    jwt: readJwtSource(node),
    workspaceClaim,
    rolesClaim,
    accountConcurrency: readAccountConcurrency(node),
    ...(readBoolean(node, ContextKeys.twoPersonRule) ? { twoPersonRule: true } : {}),
  };
}

/** `true`/`false`, as a boolean or those words; false when absent. */
function readBoolean(node: Node, key: string): boolean {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new GrecoConfigError(key, `must be true or false, got ${JSON.stringify(value)}`);
}

/** `greco:accountConcurrency`: an integer from 100 to {@link maxAccountConcurrency}, as a number or digits. */
function readAccountConcurrency(node: Node): number {
  const key = ContextKeys.accountConcurrency;
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return defaultAccountConcurrency;
  }
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (
    typeof number !== 'number' ||
    !Number.isSafeInteger(number) ||
    number < minUnreservedConcurrency ||
    number > maxAccountConcurrency
  ) {
    throw new GrecoConfigError(
      key,
      `must be the account's Lambda concurrent executions quota, an integer from ${minUnreservedConcurrency} to ${maxAccountConcurrency}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function readJwtSource(node: Node): JwtSource {
  const issuer = readString(node, ContextKeys.jwtIssuer);
  const audience = readList(node, ContextKeys.jwtAudience);
  if (issuer === undefined && audience === undefined) return { kind: 'cognito' };
  if (issuer === undefined) {
    throw new GrecoConfigError(ContextKeys.jwtIssuer, `is required when ${ContextKeys.jwtAudience} is set`);
  }
  if (audience === undefined) {
    throw new GrecoConfigError(ContextKeys.jwtAudience, `is required when ${ContextKeys.jwtIssuer} is set`);
  }
  let url: URL;
  try {
    url = new URL(issuer);
  } catch (error) {
    throw new GrecoConfigError(ContextKeys.jwtIssuer, `must be an https URL, got ${JSON.stringify(issuer)}`, {
      cause: error,
    });
  }
  // API Gateway fetches `<issuer>/.well-known/openid-configuration` and accepts https issuers only.
  // The one exception is a loopback issuer over http: the local cloud's issuer (local/oidc.ts),
  // which only the local API Gateway emulator ever talks to.
  const loopback = url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !loopback) {
    throw new GrecoConfigError(ContextKeys.jwtIssuer, `must be an https URL, got ${JSON.stringify(issuer)}`);
  }
  if (audience.length > maxJwtAudiences) {
    throw new GrecoConfigError(
      ContextKeys.jwtAudience,
      `accepts at most ${maxJwtAudiences} audiences, got ${audience.length}`,
    );
  }
  return { kind: 'external', issuer, audience };
}

/** A non-empty trimmed string, or undefined when the key is absent or blank. */
function readString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new GrecoConfigError(key, `must be a string, got ${JSON.stringify(value)}`);
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function readClaimName(node: Node, key: string): string | undefined {
  const value = readString(node, key);
  if (value !== undefined && !claimNamePattern.test(value)) {
    throw new GrecoConfigError(
      key,
      `must be 1 to 256 printable characters without spaces, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** A comma-separated string or a string array, as a list of non-empty trimmed items; undefined when absent. */
function readList(node: Node, key: string): string[] | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  let items: unknown[];
  if (typeof value === 'string') {
    if (value.trim() === '') return undefined;
    items = value.split(',');
  } else if (Array.isArray(value)) items = value;
  else throw new GrecoConfigError(key, `must be a comma-separated string, got ${JSON.stringify(value)}`);
  const list: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      throw new GrecoConfigError(key, `items must be strings, got ${JSON.stringify(item)}`);
    }
    const trimmed = item.trim();
    if (trimmed === '') throw new GrecoConfigError(key, `has an empty audience in ${JSON.stringify(value)}`);
    list.push(trimmed);
  }
  if (list.length === 0) throw new GrecoConfigError(key, 'must list at least one audience');
  return list;
}
