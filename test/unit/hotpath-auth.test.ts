import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from '../../core/errors.ts';
import { createTokenVerifier, parseRolesClaim, requireOperator } from '../../core/hotpath/auth.ts';
import { KeySetUnavailableError } from '../../core/hotpath/errors.ts';
import { freePort } from '../../local/net.ts';
import { startTestIssuer, type TestIssuer } from './hotpath-support.ts';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(() => issuer?.close());

const claims = {
  sub: 'user-1',
  aud: 'greco-client',
  'custom:workspace': 'acme',
  'cognito:groups': ['operator'],
};

function verifier(overrides: Partial<Parameters<typeof createTokenVerifier>[0]> = {}) {
  return createTokenVerifier({
    issuer: issuer.issuer,
    audience: ['greco-client'],
    workspaceClaim: 'custom:workspace',
    rolesClaim: 'cognito:groups',
    ...overrides,
  });
}

describe('createTokenVerifier', () => {
  it('returns the caller of a valid token', async () => {
    const caller = await verifier()(`Bearer ${await issuer.sign(claims)}`);
    expect(caller).toEqual({ subject: 'user-1', workspace: 'acme', roles: new Set(['operator']) });
  });

  it('accepts an access token whose client_id is an accepted audience', async () => {
    const { aud: _aud, ...withoutAudience } = claims;
    const token = await issuer.sign({ ...withoutAudience, client_id: 'greco-client', token_use: 'access' });
    await expect(verifier()(`bearer ${token}`)).resolves.toMatchObject({ workspace: 'acme' });
  });

  it('fetches the key set once, on first use, and never at creation', async () => {
    // Prepare
    const before = issuer.jwksRequests();
    const verify = verifier();
    expect(issuer.jwksRequests()).toBe(before);
    const token = await issuer.sign(claims);
    // Act
    for (let i = 0; i < 5; i++) await verify(`Bearer ${token}`);
    // Assess
    expect(issuer.jwksRequests()).toBe(before + 1);
  });

  it.each([
    ['no header', async () => undefined, 'a bearer token is required: Authorization: Bearer <JWT>'],
    [
      'another scheme',
      async () => 'Basic dXNlcjpwYXNz',
      'a bearer token is required: Authorization: Bearer <JWT>',
    ],
    ['a malformed token', async () => 'Bearer not-a-jwt', 'the token is malformed'],
    [
      'an expired token',
      async () => `Bearer ${await issuer.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`,
      'the token has expired',
    ],
    [
      'another audience',
      async () => `Bearer ${await issuer.sign({ ...claims, aud: 'someone-else' })}`,
      'the token is not meant for this audience',
    ],
    [
      'another issuer',
      async () => `Bearer ${await issuer.sign(claims, { issuer: 'https://evil.example.com' })}`,
      'the token was not issued by the expected issuer',
    ],
    [
      'a key not in the key set',
      async () => `Bearer ${await issuer.signWithForeignKey(claims)}`,
      "the token's signature could not be verified with the issuer's keys",
    ],
  ])('rejects %s with 401', async (_case, header, message) => {
    const failure = verifier()(await header());
    await expect(failure).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(failure).rejects.toMatchObject({ status: 401, message });
  });

  it('rejects a token signed under an unknown key id with 401', async () => {
    const token = await issuer.sign(claims, { kid: 'rotated-away' });
    await expect(verifier()(`Bearer ${token}`)).rejects.toMatchObject({
      status: 401,
      message: "the token's signature could not be verified with the issuer's keys",
    });
  });

  it('answers 403 for a valid token without a workspace', async () => {
    const { 'custom:workspace': _ws, ...withoutWorkspace } = claims;
    const failure = verifier()(`Bearer ${await issuer.sign(withoutWorkspace)}`);
    await expect(failure).rejects.toBeInstanceOf(ForbiddenError);
    await expect(failure).rejects.toMatchObject({
      message: 'the token has no workspace (claim custom:workspace)',
    });
  });

  it('reads the workspace and roles from the configured claims', async () => {
    const token = await issuer.sign({
      sub: 'u',
      aud: 'greco-client',
      tenant: 'globex',
      roles: 'operator viewer',
    });
    const caller = await verifier({ workspaceClaim: 'tenant', rolesClaim: 'roles' })(`Bearer ${token}`);
    expect(caller).toEqual({ subject: 'u', workspace: 'globex', roles: new Set(['operator', 'viewer']) });
  });

  it('fails with 503 when the issuer is unreachable on a cold start, and recovers once it answers', async () => {
    // Prepare: an issuer URL on a port where nothing listens yet.
    const port = await freePort();
    const downIssuer = `http://127.0.0.1:${port}`;
    const verify = verifier({ issuer: downIssuer });
    const early = await issuer.sign(claims, { issuer: downIssuer });
    // Act
    const failure = verify(`Bearer ${early}`);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(KeySetUnavailableError);
    await expect(failure).rejects.toMatchObject({
      status: 503,
      message: `the key set could not be fetched from ${downIssuer}/.well-known/jwks.json; the token cannot be verified yet`,
      headers: { 'Retry-After': '5' },
    });
    // A failed fetch is not cached: the same verifier works once the issuer answers.
    const up = await startTestIssuer(port);
    try {
      await expect(verify(`Bearer ${await up.sign(claims)}`)).resolves.toMatchObject({ workspace: 'acme' });
    } finally {
      await up.close();
    }
  });

  it('keeps verifying with cached keys while the issuer is down', async () => {
    const other = await startTestIssuer();
    const verify = createTokenVerifier({
      issuer: other.issuer,
      audience: ['greco-client'],
      workspaceClaim: 'custom:workspace',
      rolesClaim: 'cognito:groups',
    });
    const token = await other.sign(claims);
    await verify(`Bearer ${token}`);
    await other.close();
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ workspace: 'acme' });
  });

  it('refuses a configuration without audience', () => {
    expect(() => verifier({ audience: [] })).toThrow('audience must list at least one value');
  });
});

describe('parseRolesClaim', () => {
  it.each([
    [
      ['operator', 'viewer'],
      ['operator', 'viewer'],
    ],
    ['["operator","viewer"]', ['operator', 'viewer']],
    ['[operator viewer]', ['operator', 'viewer']],
    ['operator viewer', ['operator', 'viewer']],
    ['operator,viewer', ['operator', 'viewer']],
    ['operator', ['operator']],
    ['', []],
    [42, []],
    [undefined, []],
    [['operator', 7, ''], ['operator']],
  ])('reads %j as %j', (claim, roles) => {
    expect(parseRolesClaim(claim)).toEqual(roles);
  });
});

describe('requireOperator', () => {
  it.each([[['viewer']], [['editor']], [['approver']], [['viewer', 'editor', 'approver']], [[]]])(
    'refuses roles %j with 403',
    (roles) => {
      expect(() => requireOperator({ subject: 's', workspace: 'w', roles: new Set(roles) })).toThrow(
        ForbiddenError,
      );
    },
  );

  it('lets an operator through', () => {
    expect(() =>
      requireOperator({ subject: 's', workspace: 'w', roles: new Set(['operator']) }),
    ).not.toThrow();
  });
});
