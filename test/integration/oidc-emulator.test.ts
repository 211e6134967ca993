import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTokenRequestError, type LocalIssuer, startLocalIssuer } from '../../local/oidc.ts';

describe('local OIDC issuer', () => {
  let issuer: LocalIssuer;
  let custom: LocalIssuer;

  beforeAll(async () => {
    issuer = await startLocalIssuer();
    custom = await startLocalIssuer({
      audience: 'my-client',
      workspaceClaim: 'tenant',
      rolesClaim: 'groups',
    });
  });

  afterAll(async () => {
    await issuer?.close();
    await custom?.close();
  });

  it('publishes a discovery document that points at its JWKS', async () => {
    const response = await fetch(`${issuer.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: issuer.issuer,
      jwks_uri: issuer.jwksUri,
      token_endpoint: `${issuer.issuer}/token`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const jwks = (await (await fetch(issuer.jwksUri)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('mints a Cognito-style ID token that verifies against its JWKS', async () => {
    const token = await issuer.mintToken({
      workspace: 'acme',
      roles: ['editor', 'approver'],
      username: 'ada',
    });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: 'greco-local',
    });
    expect(payload).toMatchObject({
      iss: issuer.issuer,
      aud: 'greco-local',
      token_use: 'id',
      'cognito:username': 'ada',
      'custom:workspace': 'acme',
      'cognito:groups': ['editor', 'approver'],
    });
    expect(payload.sub).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(payload.exp).toBe((payload.iat ?? 0) + 3600);
    expect(typeof payload.jti).toBe('string');
  });

  it('keeps the same sub for the same user and honours an explicit subject and lifetime', async () => {
    const decode = async (token: string) =>
      (await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)))).payload;
    const a = await decode(await issuer.mintToken({ workspace: 'acme', roles: ['viewer'], username: 'bo' }));
    const b = await decode(await issuer.mintToken({ workspace: 'acme', roles: ['editor'], username: 'bo' }));
    expect(a.sub).toBe(b.sub);
    expect(a.jti).not.toBe(b.jti);
    const c = await decode(
      await issuer.mintToken({
        workspace: 'acme',
        roles: [],
        subject: 'user-1',
        expiresInSeconds: 60,
        audience: 'x',
      }),
    );
    expect(c).toMatchObject({ sub: 'user-1', 'cognito:username': 'user-1', aud: 'x' });
    expect(c.exp).toBe((c.iat ?? 0) + 60);
  });

  it('uses the configured audience and claim names', async () => {
    const token = await custom.mintToken({ workspace: 'w1', roles: ['operator'] });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(custom.jwksUri)), {
      audience: 'my-client',
    });
    expect(payload).toMatchObject({ tenant: 'w1', groups: ['operator'] });
    expect(payload).not.toHaveProperty('custom:workspace');
  });

  it('mints tokens that other issuers do not accept', async () => {
    const token = await custom.mintToken({ workspace: 'w1', roles: ['viewer'] });
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)))).rejects.toBeInstanceOf(
      errors.JWKSNoMatchingKey,
    );
  });

  it('mints an already expired token when issuedAtSeconds is in the past', async () => {
    const token = await issuer.mintToken({
      workspace: 'acme',
      roles: ['viewer'],
      issuedAtSeconds: Math.floor(Date.now() / 1000) - 7200,
    });
    await expect(jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)))).rejects.toBeInstanceOf(
      errors.JWTExpired,
    );
  });

  it('answers POST /token with a bearer token', async () => {
    const response = await fetch(`${issuer.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workspace: 'acme', roles: ['operator'], expiresInSeconds: 900 }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(issuer.jwksUri)));
    expect(payload['cognito:groups']).toEqual(['operator']);
  });

  it.each([
    ['no workspace', { roles: ['viewer'] }],
    ['an empty workspace', { workspace: '', roles: ['viewer'] }],
    ['roles that are not an array', { workspace: 'acme', roles: 'viewer' }],
    ['a role that is not a string', { workspace: 'acme', roles: [1] }],
    ['a zero lifetime', { workspace: 'acme', roles: [], expiresInSeconds: 0 }],
    ['a lifetime over one day', { workspace: 'acme', roles: [], expiresInSeconds: 86_401 }],
    ['a fractional lifetime', { workspace: 'acme', roles: [], expiresInSeconds: 1.5 }],
    ['a subject that is not a string', { workspace: 'acme', roles: [], subject: 7 }],
    ['an array body', [1, 2]],
  ])(
    'refuses a token request with %s (400 from POST /token, an error from mintToken)',
    async (_what, input) => {
      const response = await fetch(`${issuer.issuer}/token`, { method: 'POST', body: JSON.stringify(input) });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
      await expect(issuer.mintToken(input as never)).rejects.toBeInstanceOf(InvalidTokenRequestError);
    },
  );

  it('answers 400 to a body that is not JSON and 404 elsewhere', async () => {
    const bad = await fetch(`${issuer.issuer}/token`, { method: 'POST', body: 'workspace=acme' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${issuer.issuer}/authorize`)).status).toBe(404);
    expect((await fetch(`${issuer.issuer}/token`)).status).toBe(405);
  });
});
