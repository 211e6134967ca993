/**
 * Token verification inside the hot-path controller. Its endpoint is a Lambda function URL with
 * AuthType NONE, so the function verifies every bearer token itself, the way API Gateway's JWT
 * authorizer does for the management API: signature by the issuer's keys, `iss`, the audience in
 * `aud` or (Cognito access tokens) `client_id`, and the clock rules both planes share
 * (domain/tokens.ts `checkTokenTimes`: `exp` required, `nbf`, and `iat` not in the future, with one
 * tolerance).
 *
 * The issuer's key set is fetched on first use and cached for the container's life (a token
 * signed with an unknown key id triggers one refetch, at most every 30 s): no call to the issuer
 * per request, none at module load. A cold start while the issuer is unreachable is the one case
 * that fails, with 503 {@link KeySetUnavailableError}.
 */
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { ForbiddenError, UnauthorizedError } from '../domain/errors.ts';
import { hotPathRole } from '../domain/hotpath-api.ts';
import { workspaceIdPattern } from '../domain/names.ts';
import { parseRolesClaim, type Role } from '../domain/roles.ts';
import { checkTokenTimes, tokenClockToleranceSeconds } from '../domain/tokens.ts';
import { KeySetUnavailableError } from './errors.ts';

/** The verified caller of one request. */
export interface Caller {
  /** The token's `sub`. */
  readonly subject: string;
  /** The caller's workspace, from the workspace claim: never from the request. */
  readonly workspace: string;
  /**
   * The roles the roles claim names exactly (domain/roles.ts `parseRolesClaim`), not expanded:
   * only `operator` matters here, and no other role includes it.
   */
  readonly roles: ReadonlySet<Role>;
}

/** How tokens are verified. */
export interface TokenVerifierConfig {
  /** Expected `iss`, exactly as in the tokens (e.g. `https://cognito-idp.<region>.amazonaws.com/<poolId>`). */
  readonly issuer: string;
  /** Accepted audiences, matched against `aud` or `client_id` (at least one). */
  readonly audience: readonly string[];
  /** Claim with the workspace id, e.g. `custom:workspace`. */
  readonly workspaceClaim: string;
  /** Claim with the roles, e.g. `cognito:groups`: a JSON array, or a string (domain/roles.ts `parseRolesClaim`). */
  readonly rolesClaim: string;
  /** Where the issuer publishes its keys. @default - `<issuer>/.well-known/jwks.json` (Cognito's and the local issuer's) */
  readonly jwksUrl?: string;
  /** Longest wait for the key set, in milliseconds. @default 2000 */
  readonly keyFetchTimeoutMs?: number;
}

/**
 * Verifies the `Authorization` header of a request and returns its caller.
 *
 * @throws UnauthorizedError (401) when the token is missing, malformed, badly signed, for another
 *   issuer or audience, or breaks a clock rule (no `exp`, expired, not valid yet, issued in the
 *   future: domain/tokens.ts)
 * @throws ForbiddenError (403) when the token is valid but names no workspace, or not a valid
 *   workspace id (domain/names.ts)
 * @throws KeySetUnavailableError (503) when the issuer's keys could not be fetched
 */
export type TokenVerifier = (authorizationHeader: string | undefined) => Promise<Caller>;

/**
 * Builds a {@link TokenVerifier}. Call it once at module scope: the key cache lives in the verifier.
 * Creating it makes no network call.
 *
 * @param keys key resolver for tests; by default the issuer's remote key set
 * @example
 * const verifyToken = createTokenVerifier({ issuer, audience: ['client-id'], workspaceClaim: 'custom:workspace', rolesClaim: 'cognito:groups' });
 * const caller = await verifyToken(event.headers.authorization);
 */
export function createTokenVerifier(config: TokenVerifierConfig, keys?: JWTVerifyGetKey): TokenVerifier {
  if (config.audience.length === 0) throw new RangeError('audience must list at least one value');
  const getKey = keys ?? remoteKeySet(config);
  const audiences = new Set(config.audience);
  return async function verifyToken(authorizationHeader) {
    const token = bearerToken(authorizationHeader);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: config.issuer,
        clockTolerance: tokenClockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw tokenError(error);
    }
    // jose checks `iat` only against a maximum age; the shared rules refuse one in the future.
    checkTokenTimes(payload);
    const tokenAudiences = [
      ...(typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? [])),
      ...(typeof payload.client_id === 'string' ? [payload.client_id] : []),
    ];
    if (!tokenAudiences.some((audience) => audiences.has(audience))) {
      throw new UnauthorizedError('the token is not meant for this audience');
    }
    const workspace = payload[config.workspaceClaim];
    if (typeof workspace !== 'string' || workspace === '') {
      throw new ForbiddenError(`the token has no workspace (claim ${config.workspaceClaim})`);
    }
    // The management API's rule too (core/auth.ts): a workspace id, or the token is useless here.
    if (!workspaceIdPattern.test(workspace)) {
      throw new ForbiddenError(`the token's ${config.workspaceClaim} claim is not a valid workspace id`);
    }
    return {
      subject: String(payload.sub),
      workspace,
      roles: new Set(parseRolesClaim(payload[config.rolesClaim])),
    };
  };
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750 §2.1). */
function bearerToken(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  if (match?.[1] === undefined) {
    throw new UnauthorizedError('a bearer token is required: Authorization: Bearer <JWT>');
  }
  return match[1];
}

/** jose error codes that mean "this token is not acceptable" rather than "the keys are unavailable". */
const tokenRejectionCodes = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
]);

function remoteKeySet(config: TokenVerifierConfig): JWTVerifyGetKey {
  const jwksUrl = config.jwksUrl ?? `${config.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  const remote = createRemoteJWKSet(new URL(jwksUrl), {
    // Keys stay until a token names an unknown key id: the issuer is not on the hot path.
    cacheMaxAge: Number.POSITIVE_INFINITY,
    cooldownDuration: 30_000,
    timeoutDuration: config.keyFetchTimeoutMs ?? 2000,
  });
  return async (protectedHeader, token) => {
    try {
      return await remote(protectedHeader, token);
    } catch (error) {
      if (tokenRejectionCodes.has(joseCode(error) ?? '')) throw error;
      throw new KeySetUnavailableError(jwksUrl, { cause: error });
    }
  };
}

/** Turns a jose verification failure into a 401 that says what is wrong, without echoing the token. */
function tokenError(error: unknown): Error {
  if (error instanceof KeySetUnavailableError) return error;
  const code = joseCode(error);
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new UnauthorizedError('the token has expired', { cause: error });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: string }).claim;
      if (claim === 'iss')
        return new UnauthorizedError('the token was not issued by the expected issuer', { cause: error });
      return new UnauthorizedError(`the token's ${claim ?? 'claims'} claim is not acceptable`, {
        cause: error,
      });
    }
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new UnauthorizedError("the token's signature could not be verified with the issuer's keys", {
        cause: error,
      });
    case undefined:
      return error instanceof Error ? error : new Error(String(error));
    default:
      return new UnauthorizedError('the token is malformed', { cause: error });
  }
}

function joseCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const { code } = error as { code: unknown };
  return typeof code === 'string' && code.startsWith('ERR_J') ? code : undefined;
}

/**
 * Checks that the caller may use the hot path: the operator role (start, suspend and their state;
 * viewer, editor and approver do not include it).
 *
 * @throws ForbiddenError (403)
 */
export function requireOperator(caller: Caller): void {
  if (!caller.roles.has(hotPathRole)) {
    throw new ForbiddenError(`starting and suspending functions needs the ${hotPathRole} role`);
  }
}
