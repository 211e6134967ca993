import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { BodyTooLargeError, closeServer, listen, readBody, sendJson } from './http.ts';

/** What a token minted by the local issuer says about its holder. */
export interface MintTokenInput {
  /** The workspace id, written to the workspace claim (a string). */
  readonly workspace: string;
  /** greco roles (viewer, editor, approver, operator), written to the roles claim (a JSON array of strings). */
  readonly roles: readonly string[];
  /** `sub`. @default - a UUID derived from workspace and username, stable across tokens */
  readonly subject?: string;
  /** `cognito:username`. @default - the subject if given, else `'local-user'` */
  readonly username?: string;
  /** `aud`. @default - the issuer's audience */
  readonly audience?: string;
  /**
   * Lifetime in seconds, 1 to 86,400: the range of a Cognito user pool client's ID-token
   * validity is 5 minutes to 1 day; shorter is allowed here for tests.
   * @default 3600
   */
  readonly expiresInSeconds?: number;
  /**
   * `iat` in seconds since the epoch, to mint tokens that are already expired (tests).
   * @default - now
   */
  readonly issuedAtSeconds?: number;
}

/** Options of {@link startLocalIssuer}. */
export interface LocalIssuerOptions {
  /** TCP port on 127.0.0.1. @default 0 - the OS picks a free port */
  readonly port?: number;
  /** The audience (`aud`) of minted tokens: the client id of a Cognito user pool app client. @default 'greco-local' */
  readonly audience?: string;
  /** Claim that carries the workspace id. @default 'custom:workspace' */
  readonly workspaceClaim?: string;
  /** Claim that carries the roles. @default 'cognito:groups' */
  readonly rolesClaim?: string;
}

/** A running local OIDC issuer. */
export interface LocalIssuer {
  /** The issuer URL, `http://127.0.0.1:<port>`: `iss` of its tokens and the base of its discovery document. */
  readonly issuer: string;
  /** `<issuer>/.well-known/jwks.json`. */
  readonly jwksUri: string;
  /** Default `aud` of minted tokens. */
  readonly audience: string;
  /** Signs an ID token. @throws InvalidTokenRequestError when the input is invalid */
  mintToken(input: MintTokenInput): Promise<string>;
  close(): Promise<void>;
}

/** Thrown by `mintToken` (and answered as 400 by `POST /token`) for an invalid request. */
export class InvalidTokenRequestError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidTokenRequestError';
  }
}

/** Longest token lifetime accepted, in seconds: one day, Cognito's largest ID-token validity. */
const maxExpiresInSeconds = 86_400;

/** A stable RFC 4122-shaped (version 5 style) UUID from a name, like a Cognito `sub` for a user. */
function nameUuid(name: string): string {
  const hash = createHash('sha1').update(`greco-local-issuer:${name}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Validates a mint request from code or from `POST /token` (whose body is untyped JSON). */
function validateMintInput(input: unknown): MintTokenInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidTokenRequestError('the token request must be a JSON object');
  }
  const value = input as Record<string, unknown>;
  if (typeof value.workspace !== 'string' || value.workspace === '') {
    throw new InvalidTokenRequestError('workspace must be a non-empty string');
  }
  if (!Array.isArray(value.roles) || value.roles.some((role) => typeof role !== 'string' || role === '')) {
    throw new InvalidTokenRequestError('roles must be an array of non-empty strings');
  }
  for (const name of ['subject', 'username', 'audience'] as const) {
    const field = value[name];
    if (field !== undefined && (typeof field !== 'string' || field === '')) {
      throw new InvalidTokenRequestError(`${name} must be a non-empty string when given`);
    }
  }
  const expires = value.expiresInSeconds;
  if (
    expires !== undefined &&
    (typeof expires !== 'number' ||
      !Number.isInteger(expires) ||
      expires < 1 ||
      expires > maxExpiresInSeconds)
  ) {
    throw new InvalidTokenRequestError(
      `expiresInSeconds must be an integer from 1 to ${maxExpiresInSeconds}, got ${JSON.stringify(expires)}`,
    );
  }
  const issuedAt = value.issuedAtSeconds;
  if (
    issuedAt !== undefined &&
    (typeof issuedAt !== 'number' || !Number.isInteger(issuedAt) || issuedAt < 0)
  ) {
    throw new InvalidTokenRequestError(
      `issuedAtSeconds must be a non-negative integer, got ${JSON.stringify(issuedAt)}`,
    );
  }
  return value as unknown as MintTokenInput;
}

/**
 * Starts a local OpenID Connect issuer that signs Cognito-style ID tokens with an RS256 key
 * generated at start. It serves:
 * - `GET /.well-known/openid-configuration`: the discovery document;
 * - `GET /.well-known/jwks.json`: the public key;
 * - `POST /token`: JSON `{workspace, roles, subject?, username?, audience?, expiresInSeconds?}`
 *   → `{access_token, id_token, token_type: 'Bearer', expires_in}` (both tokens are the same
 *   ID token), so that curl and the CLI can get a token.
 *
 * Claims: `iss`, `aud`, `sub`, `iat`, `auth_time`, `exp`, `jti`, `token_use: 'id'`,
 * `cognito:username`, the workspace claim (a string) and the roles claim (an array of strings).
 *
 * @example
 * const issuer = await startLocalIssuer();
 * const token = await issuer.mintToken({ workspace: 'acme', roles: ['editor'] });
 * // curl -H "authorization: Bearer $token" ...
 * await issuer.close();
 */
export async function startLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const audience = options.audience ?? 'greco-local';
  const workspaceClaim = options.workspaceClaim ?? 'custom:workspace';
  const rolesClaim = options.rolesClaim ?? 'cognito:groups';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };

  let issuer = '';
  const mintToken = async (input: MintTokenInput): Promise<string> =>
    sign(privateKey, kid, issuer, audience, workspaceClaim, rolesClaim, validateMintInput(input));

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      console.error('local issuer: internal error', error);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const cors = { 'access-control-allow-origin': '*' };
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      sendJson(
        res,
        200,
        {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          token_endpoint: `${issuer}/token`,
          response_types_supported: ['id_token', 'token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['none'],
          claims_supported: [
            'iss',
            'aud',
            'sub',
            'iat',
            'exp',
            'jti',
            'token_use',
            'cognito:username',
            workspaceClaim,
            rolesClaim,
          ],
        },
        cors,
      );
      return;
    }
    if (req.method === 'GET' && path === '/.well-known/jwks.json') {
      sendJson(res, 200, jwks, cors);
      return;
    }
    if (path === '/token') {
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { allow: 'POST' });
        return;
      }
      let input: unknown;
      try {
        input = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8'));
      } catch (error) {
        const description =
          error instanceof BodyTooLargeError ? error.message : 'the request body must be a JSON object';
        sendJson(res, 400, { error: 'invalid_request', error_description: description });
        return;
      }
      try {
        const request = validateMintInput(input);
        const token = await mintToken(request);
        sendJson(res, 200, {
          access_token: token,
          id_token: token,
          token_type: 'Bearer',
          expires_in: request.expiresInSeconds ?? 3600,
        });
      } catch (error) {
        if (!(error instanceof InvalidTokenRequestError)) throw error;
        sendJson(res, 400, { error: 'invalid_request', error_description: error.message });
      }
      return;
    }
    sendJson(res, 404, { error: 'not_found', error_description: `no ${req.method} ${path} here` });
  }

  issuer = await listen(server, options.port ?? 0);
  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    audience,
    mintToken,
    close: () => closeServer(server),
  };
}

async function sign(
  privateKey: CryptoKey,
  kid: string,
  issuer: string,
  defaultAudience: string,
  workspaceClaim: string,
  rolesClaim: string,
  input: MintTokenInput,
): Promise<string> {
  const username = input.username ?? input.subject ?? 'local-user';
  const subject = input.subject ?? nameUuid(`${input.workspace}/${username}`);
  const issuedAt = input.issuedAtSeconds ?? Math.floor(Date.now() / 1000);
  const expiresAt = issuedAt + (input.expiresInSeconds ?? 3600);
  return new SignJWT({
    token_use: 'id',
    auth_time: issuedAt,
    'cognito:username': username,
    [workspaceClaim]: input.workspace,
    [rolesClaim]: [...input.roles],
  })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(input.audience ?? defaultAudience)
    .setSubject(subject)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(randomUUID())
    .sign(privateKey);
}
