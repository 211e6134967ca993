import { GrecoError, ServiceUnavailableError } from '../domain/errors.ts';

/**
 * 503: the token's signing keys could not be fetched from the issuer (a cold start while the
 * issuer is unreachable: the only case in which the hot path depends on it).
 */
export class KeySetUnavailableError extends ServiceUnavailableError {
  constructor(jwksUrl: string, options?: ErrorOptions) {
    super(`the key set could not be fetched from ${jwksUrl}; the token cannot be verified yet`, 5, options);
    this.name = 'KeySetUnavailableError';
  }
}

/** 405: the path exists but not with this method; `Allow` lists the methods it has (RFC 9110 §15.5.6). */
export class MethodNotAllowedError extends GrecoError {
  constructor(method: string, allow: readonly string[], options?: ErrorOptions) {
    super(
      `${method} is not allowed here; use ${allow.join(' or ')}`,
      {
        status: 405,
        title: 'Method not allowed',
        slug: 'method-not-allowed',
        headers: { Allow: allow.join(', ') },
      },
      options,
    );
    this.name = 'MethodNotAllowedError';
  }
}
