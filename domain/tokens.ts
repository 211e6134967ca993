/**
 * The clock rules both planes apply to a bearer token (JWT), with their one tolerance: the
 * management API (after API Gateway's JWT authorizer) and the hot path (verifying tokens itself)
 * accept and refuse the same tokens at the same instants.
 *
 * @module
 */
import { UnauthorizedError } from './errors.ts';

/**
 * Clock skew allowed between a token's issuer and greco, in seconds, for `exp`, `nbf` and `iat`:
 * 5 s. Cognito and Lambda both keep time with the Amazon Time Sync Service (well under a
 * millisecond apart), and an NTP-synchronised external issuer is within a few hundred
 * milliseconds; 5 s absorbs that with room, while a token dated in the future or expired is
 * refused within 5 s of the moment it should be (RFC 7519 §4.1.4-4.1.6: "some small leeway,
 * usually no more than a few minutes"; greco takes the small end). API Gateway's own JWT
 * authorizer documents no leeway, so the management API re-checks every rule here itself.
 */
export const tokenClockToleranceSeconds = 5;

/** The time claims of a token, as its payload carries them: seconds since the epoch (NumericDate). */
export interface TokenTimes {
  readonly exp?: unknown;
  readonly nbf?: unknown;
  readonly iat?: unknown;
}

/**
 * Checks a token's time claims at `nowSeconds` (in whole seconds), with
 * {@link tokenClockToleranceSeconds}:
 * - `exp` is required, a number, and later than now minus the tolerance;
 * - `nbf`, when present, a number no later than now plus the tolerance;
 * - `iat`, when present, a number no later than now plus the tolerance: a token issued in the
 *   future is refused (security issue 10, defect 4).
 *
 * @param claims the token's payload (only `exp`, `nbf` and `iat` are read)
 * @param nowSeconds the current time in seconds since the epoch; fractions allowed
 * @throws UnauthorizedError (401) saying which rule the token breaks
 * @example
 * checkTokenTimes({ exp: 1_900_000_000, iat: 1_800_000_000 }, Date.now() / 1000);
 */
export function checkTokenTimes(claims: TokenTimes, nowSeconds: number = Date.now() / 1000): void {
  const { exp, nbf, iat } = claims;
  // Whole seconds, as jose (the hot path's verifier) counts them, so both planes agree to the second.
  const now = Math.floor(nowSeconds);
  if (exp === undefined) throw new UnauthorizedError('the token has no exp claim');
  if (!isNumericDate(exp)) throw new UnauthorizedError("the token's exp claim is not a number");
  if (exp <= now - tokenClockToleranceSeconds) throw new UnauthorizedError('the token has expired');
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) throw new UnauthorizedError("the token's nbf claim is not a number");
    if (nbf > now + tokenClockToleranceSeconds) {
      throw new UnauthorizedError('the token is not valid yet (nbf)');
    }
  }
  if (iat !== undefined) {
    if (!isNumericDate(iat)) throw new UnauthorizedError("the token's iat claim is not a number");
    if (iat > now + tokenClockToleranceSeconds) {
      throw new UnauthorizedError('the token was issued in the future (iat)');
    }
  }
}

/** Whether `value` is a JSON number usable as a NumericDate (RFC 7519 §2). */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
