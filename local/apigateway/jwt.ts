import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';

/**
 * JWT authorizers of HTTP APIs, checked as API Gateway does: the token (optionally prefixed
 * `Bearer `) from the identity source, an RSA signature by a key of the issuer's JWKS (found
 * through its discovery document, keys cached), then `iss`, `aud` or `client_id`, `exp`
 * (required: a token without one is refused), `nbf` and `iat`.
 *
 * @see https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 */

/** Why a request was refused; rendered into the `www-authenticate` header. */
export class JwtAuthorizerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JwtAuthorizerError';
  }
}

/** The verified token as the Lambda event carries it. */
export interface JwtAuthorization {
  /** Every claim, as API Gateway renders them: strings (see {@link claimToString}). */
  readonly claims: Record<string, string>;
  /** From the `scope` (space-separated) or `scp` claim; `null` when the token has none, as in AWS events. */
  readonly scopes: string[] | null;
}

/** Signing algorithms HTTP API JWT authorizers accept: RSA-based only. */
const rsaAlgorithms = ['RS256', 'RS384', 'RS512'];

/** API Gateway caches an issuer's public keys for up to two hours. */
const keyCacheMaxAgeMs = 2 * 60 * 60 * 1000;

/**
 * Renders a claim value as API Gateway puts it in `authorizer.jwt.claims`: strings unchanged,
 * numbers and booleans as their text, arrays as `[a b]`, objects as `map[k:v]` (the Go
 * formatting API Gateway uses), `null` as `<nil>`.
 */
export function claimToString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(claimToString).join(' ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `map[${entries.map(([k, v]) => `${k}:${claimToString(v)}`).join(' ')}]`;
}

function scopesOf(payload: JWTPayload): string[] | null {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter((s) => s !== '');
  if (Array.isArray(payload.scp)) return payload.scp.filter((s): s is string => typeof s === 'string');
  if (typeof payload.scp === 'string') return payload.scp.split(' ').filter((s) => s !== '');
  return null;
}

/** Verifies tokens for any number of issuers, caching each issuer's key set. */
export class JwtVerifier {
  readonly #keySets = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>();

  /** The issuer's key set, from `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
  #keySet(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let keySet = this.#keySets.get(issuer);
    if (keySet === undefined) {
      keySet = (async () => {
        const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
        const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
        if (!response.ok)
          throw new JwtAuthorizerError(`the discovery document ${url} answered ${response.status}`);
        const discovery = (await response.json()) as { jwks_uri?: unknown };
        if (typeof discovery.jwks_uri !== 'string') {
          throw new JwtAuthorizerError(`the discovery document ${url} has no jwks_uri`);
        }
        return createRemoteJWKSet(new URL(discovery.jwks_uri), { cacheMaxAge: keyCacheMaxAgeMs });
      })();
      this.#keySets.set(issuer, keySet);
      // A failed discovery is not cached: the next request tries again.
      keySet.catch(() => this.#keySets.delete(issuer));
    }
    return keySet;
  }

  /**
   * Verifies `token` for an authorizer with `issuer` and `audience`.
   *
   * @throws JwtAuthorizerError naming the first check that failed
   */
  async verify(token: string, issuer: string, audience: readonly string[]): Promise<JwtAuthorization> {
    let payload: JWTPayload;
    try {
      const keySet = await this.#keySet(issuer);
      ({ payload } = await jwtVerify(token, keySet, {
        issuer,
        algorithms: rsaAlgorithms,
        // API Gateway requires `exp` ("must be after the current time"); jose checks it only when present.
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof JwtAuthorizerError) throw error;
      const reason =
        error instanceof errors.JWTExpired
          ? 'the token has expired'
          : error instanceof errors.JWTClaimValidationFailed
            ? `the token's ${error.claim} claim is not valid`
            : error instanceof errors.JOSEError
              ? `the token is not valid (${error.code})`
              : 'the issuer keys could not be fetched';
      throw new JwtAuthorizerError(reason, { cause: error });
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > now) {
      throw new JwtAuthorizerError('the token was issued in the future');
    }
    const audiences = Array.isArray(payload.aud)
      ? payload.aud
      : payload.aud === undefined
        ? []
        : [payload.aud];
    const clientId = typeof payload.client_id === 'string' ? [payload.client_id] : [];
    if (![...audiences, ...clientId].some((a) => audience.includes(a))) {
      throw new JwtAuthorizerError('the token has no valid audience or client_id');
    }
    const claims: Record<string, string> = {};
    for (const [name, value] of Object.entries(payload)) claims[name] = claimToString(value);
    return { claims, scopes: scopesOf(payload) };
  }
}
