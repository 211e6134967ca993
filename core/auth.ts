/**
 * Who is calling the management API. API Gateway's JWT authorizer has verified the bearer token
 * (signature, `iss`, `aud`/`client_id`, `exp`, `nbf`, `iat`) before the handler runs; the handler
 * then reads the caller from that token's own payload, taken from the `authorization` header the
 * authorizer read it from, and bound to the authorizer's claims (`sub`, `iss`, `exp`, `jti` must
 * agree). It does not read roles from `requestContext.authorizer.jwt.claims`: API Gateway renders
 * an array claim there as `[a b]`, which loses the element boundaries (a group named
 * `viewer approver` looks like two groups; a lone group named `"approver"` looks like a JSON
 * array), so the same token could grant more on the management API than on the hot path.
 * The workspace and the roles come only from the token, never from the request body or path.
 *
 * @module
 */
import { defaultRolesClaim, defaultWorkspaceClaim, EnvNames, optionalEnv } from '../domain/env.ts';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../domain/errors.ts';
import { validateWorkspaceId } from '../domain/names.ts';
import { isObject } from '../domain/objects.ts';
import { IncludedRoles, parseRolesClaim, type Role, Roles } from '../domain/roles.ts';
import { checkTokenTimes } from '../domain/tokens.ts';
import type { Actor } from './store/types.ts';

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

/** What the management API knows of a request's token (payload format 2.0). */
export interface AuthorizedRequest {
  /**
   * `requestContext.authorizer.jwt.claims`: the claims API Gateway's JWT authorizer verified,
   * each rendered as a string (numbers as their digits, arrays as `[a b]`); `undefined` when no
   * authorizer ran.
   */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /**
   * The `authorization` header: the token the authorizer verified, bare or after `Bearer `. The
   * authorizer's identity source is `$request.header.Authorization`
   * (lib/constructs/management-api.ts), so this is the very token it checked.
   */
  readonly authorization: string | undefined;
}

/** Claims that may carry a human-readable user name, in order of preference. */
const usernameClaims = ['cognito:username', 'username', 'preferred_username', 'email'];

/**
 * A compact JWS (`header.payload.signature`, base64url), bare or after `Bearer ` (any case, as API
 * Gateway's identity source accepts either).
 */
const bearerTokenPattern = /^(?:bearer\s+)?([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/i;

/**
 * The caller of a request, from the token API Gateway's JWT authorizer verified.
 *
 * Reads the token's payload from `request.authorization` (its signature is not checked again:
 * API Gateway did that), checks that it is the token behind `request.claims` (same `sub`, `iss`,
 * `exp` and `jti`), applies greco's clock rules (domain/tokens.ts `checkTokenTimes`, the same as
 * the hot path's), then takes the workspace, the roles (domain/roles.ts `parseRolesClaim`, exact
 * role names only) and the user name from the payload.
 *
 * @param nowSeconds the current time, in seconds since the epoch (tests)
 * @throws UnauthorizedError (401) when there are no claims or no `sub` (the authorizer did not
 *   run), when the `authorization` header holds no token or not the one the authorizer verified,
 *   or when the token breaks a clock rule (no `exp`, expired, not valid yet, issued in the future)
 * @throws ForbiddenError (403) when the token names no valid workspace or grants no greco role:
 *   it is valid, but useless here
 */
export function callerFromRequest(
  request: AuthorizedRequest,
  names: ClaimNames = claimNamesFromEnv(),
  nowSeconds: number = Date.now() / 1000,
): Caller {
  const { claims } = request;
  const sub = claims?.sub;
  if (claims === undefined || typeof sub !== 'string' || sub === '') {
    throw new UnauthorizedError('the request carries no verified token claims');
  }
  const payload = tokenPayload(request.authorization);
  checkTokenTimes(payload, nowSeconds);
  assertAuthorizedToken(payload, claims);
  const workspace = payload[names.workspaceClaim];
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
  for (const named of parseRolesClaim(payload[names.rolesClaim])) {
    for (const role of IncludedRoles[named]) roles.add(role);
  }
  if (roles.size === 0) {
    throw new ForbiddenError(
      `the token's ${names.rolesClaim} claim grants none of the roles ${Roles.join(', ')}`,
    );
  }
  const username = usernameClaims
    .map((claim) => payload[claim])
    .find((v) => typeof v === 'string' && v !== '');
  return {
    workspace,
    roles,
    actor: typeof username === 'string' ? { sub, username } : { sub },
  };
}

/**
 * The payload of the token in `authorization`, decoded (not verified: API Gateway did that).
 *
 * @throws UnauthorizedError (401) when there is no compact JWS there, or its payload is not a
 *   JSON object
 */
function tokenPayload(authorization: string | undefined): Record<string, unknown> {
  const match = authorization === undefined ? null : bearerTokenPattern.exec(authorization.trim());
  const encoded = match?.[2];
  if (encoded === undefined) {
    throw new UnauthorizedError('the authorization header carries no bearer token');
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch (error) {
    throw new UnauthorizedError("the token's payload is not JSON", { cause: error });
  }
  if (!isObject(payload)) throw new UnauthorizedError("the token's payload is not a JSON object");
  return payload;
}

/**
 * Checks that `payload` is the token the authorizer verified: its `sub` and `iss` equal the
 * claims', its `exp` is the number the claims render, and its `jti` (when either has one) the same.
 *
 * @throws UnauthorizedError (401) otherwise
 */
function assertAuthorizedToken(
  payload: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
): void {
  const same =
    payload.sub === claims.sub &&
    typeof payload.iss === 'string' &&
    payload.iss === claims.iss &&
    typeof payload.exp === 'number' &&
    Number(claims.exp) === payload.exp &&
    sameScalar(payload.jti, claims.jti);
  if (!same) {
    throw new UnauthorizedError('the authorization header does not carry the token the authorizer verified');
  }
}

/** Whether a scalar claim of the token and its rendering by API Gateway agree (both absent, or the same text). */
function sameScalar(inToken: unknown, rendered: unknown): boolean {
  if (inToken === undefined) return rendered === undefined;
  return (typeof inToken === 'string' || typeof inToken === 'number') && String(inToken) === rendered;
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
