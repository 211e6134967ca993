/**
 * Who is calling the management API, from the claims API Gateway's JWT authorizer has already
 * verified (payload format 2.0: `requestContext.authorizer.jwt.claims`). The workspace and the
 * roles come only from the token, never from the request body or path.
 *
 * @module
 */
import { defaultRolesClaim, defaultWorkspaceClaim, EnvNames, optionalEnv } from './env.ts';
import { ForbiddenError, UnauthorizedError, ValidationError } from './errors.ts';
import { validateWorkspaceId } from './spec.ts';
import type { Actor } from './store/types.ts';

/** greco's roles. viewer < editor < approver, each including the ones before; operator stands apart. */
export type Role = 'viewer' | 'editor' | 'approver' | 'operator';

/** Every role, in the order the API documents them. */
export const Roles: readonly Role[] = ['viewer', 'editor', 'approver', 'operator'];

/** The roles each role includes (itself included). */
const includedRoles: Readonly<Record<Role, readonly Role[]>> = {
  viewer: ['viewer'],
  editor: ['editor', 'viewer'],
  approver: ['approver', 'editor', 'viewer'],
  operator: ['operator'],
};

/** The authenticated caller of one request. */
export interface Caller {
  /** The caller's workspace id, from the workspace claim. */
  readonly workspace: string;
  /** The roles the token grants, expanded: an approver also holds editor and viewer. */
  readonly roles: ReadonlySet<Role>;
  /** For audit records: `sub` and the username claim. */
  readonly actor: Actor;
}

/** Names of the claims that carry the workspace and the roles. */
export interface ClaimNames {
  /** @default 'custom:workspace' */
  readonly workspaceClaim: string;
  /** @default 'cognito:groups' */
  readonly rolesClaim: string;
}

/** The claim names from {@link EnvNames.workspaceClaim} and {@link EnvNames.rolesClaim}, or their defaults. */
export function claimNamesFromEnv(env: NodeJS.ProcessEnv = process.env): ClaimNames {
  return {
    workspaceClaim: optionalEnv(EnvNames.workspaceClaim, defaultWorkspaceClaim, env),
    rolesClaim: optionalEnv(EnvNames.rolesClaim, defaultRolesClaim, env),
  };
}

/** Claims that may carry a human-readable user name, in order of preference. */
const usernameClaims = ['cognito:username', 'username', 'preferred_username', 'email'];

/**
 * Reads a list-valued claim in any of the shapes it arrives in: a real array, a JSON array
 * (`["editor","approver"]`), API Gateway HTTP APIs' rendering of array claims (`[editor approver]`),
 * or a space- or comma-separated string. Empty items are dropped.
 *
 * @example
 * parseClaimList('[editor approver]'); // ['editor', 'approver']
 */
export function parseClaimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item) => typeof item === 'string' && item !== '');
  if (typeof value !== 'string') return [];
  let text = value.trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parseClaimList(parsed);
    } catch {
      // Not JSON: API Gateway's `[a b]` rendering.
    }
    text = text.slice(1, -1);
  }
  return text
    .split(/[\s,]+/)
    .map((item) => item.replace(/^"|"$/g, ''))
    .filter((item) => item !== '');
}

/**
 * The caller of a request, from its verified JWT claims.
 *
 * @param claims `event.requestContext.authorizer.jwt.claims`
 * @throws UnauthorizedError (401) when there are no claims or no `sub` (the authorizer did not run)
 * @throws ForbiddenError (403) when the token names no valid workspace or grants no greco role:
 *   it is valid, but useless here
 */
export function callerFromClaims(
  claims: Readonly<Record<string, unknown>> | undefined,
  names: ClaimNames = claimNamesFromEnv(),
): Caller {
  const sub = claims?.sub;
  if (claims === undefined || typeof sub !== 'string' || sub === '') {
    throw new UnauthorizedError('the request carries no verified token claims');
  }
  const workspace = claims[names.workspaceClaim];
  if (typeof workspace !== 'string' || workspace === '') {
    throw new ForbiddenError(`the token has no ${names.workspaceClaim} claim naming a workspace`);
  }
  try {
    validateWorkspaceId(workspace);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ForbiddenError(`the token's ${names.workspaceClaim} claim is not a valid workspace id`, {
      cause: error,
    });
  }
  const roles = new Set<Role>();
  for (const name of parseClaimList(claims[names.rolesClaim])) {
    if (isRole(name)) for (const role of includedRoles[name]) roles.add(role);
  }
  if (roles.size === 0) {
    throw new ForbiddenError(
      `the token's ${names.rolesClaim} claim grants none of the roles ${Roles.join(', ')}`,
    );
  }
  const username = usernameClaims
    .map((claim) => claims[claim])
    .find((v) => typeof v === 'string' && v !== '');
  return {
    workspace,
    roles,
    actor: typeof username === 'string' ? { sub, username } : { sub },
  };
}

/** Whether `caller` holds `role` (directly or through a role that includes it). */
export function hasRole(caller: Caller, role: Role): boolean {
  return caller.roles.has(role);
}

/**
 * Checks that `caller` holds `role`.
 * @throws ForbiddenError (403) naming the role needed
 */
export function requireRole(caller: Caller, role: Role): void {
  if (!hasRole(caller, role)) {
    throw new ForbiddenError(`this action needs the ${role} role (or one that includes it)`);
  }
}

function isRole(name: string): name is Role {
  return (Roles as readonly string[]).includes(name);
}
