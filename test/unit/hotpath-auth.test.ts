import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from '../../domain/errors.ts';
import type { Role } from '../../domain/roles.ts';
import { tokenClockToleranceSeconds } from '../../domain/tokens.ts';
import { createTokenVerifier, requireOperator } from '../../hotpath/auth.ts';
import { KeySetUnavailableError } from '../../hotpath/errors.ts';
import { reservePort } from '../../local/net.ts';
import { roleClaimCases, roleClaimTestName } from '../support/role-claims.ts';
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

  it.each([['ACME'], ['acme#1'], ['a'.repeat(33)], ['-acme']])(
    'answers 403 for a valid token whose workspace %j is not a workspace id, as the management API does',
    async (workspace) => {
      // Prepare
      const token = await issuer.sign({ ...claims, 'custom:workspace': workspace });
      // Act
      const failure = verifier()(`Bearer ${token}`);
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ForbiddenError);
      await expect(failure).rejects.toMatchObject({
        message: "the token's custom:workspace claim is not a valid workspace id",
      });
    },
  );

  it('reads the workspace and roles from the configured claims', async () => {
    const token = await issuer.sign({
      sub: 'u',
      aud: 'greco-client',
      tenant: 'globex',
      roles: ['operator', 'viewer'],
    });
    const caller = await verifier({ workspaceClaim: 'tenant', rolesClaim: 'roles' })(`Bearer ${token}`);
    expect(caller).toEqual({ subject: 'u', workspace: 'globex', roles: new Set(['operator', 'viewer']) });
  });

  it('fails with 503 when the issuer is unreachable on a cold start, and recovers once it answers', async () => {
    // Prepare: an issuer URL on a port this process holds and serves nothing on yet (every
    // connection is reset); the issuer started later takes the held socket over.
    const { port } = await reservePort();
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

describe('the verifier reads the roles claim exactly', () => {
  it.each(roleClaimCases.map((c) => [roleClaimTestName(c), c] as const))(
    '%s',
    async (_name, { claim, roles }) => {
      // Prepare: a token whose roles claim is the case's value (absent when undefined).
      const { 'cognito:groups': _, ...rest } = claims;
      const token = await issuer.sign(claim === undefined ? rest : { ...rest, 'cognito:groups': claim });
      // Act
      const caller = await verifier()(`Bearer ${token}`);
      // Assess
      expect(caller.roles).toEqual(new Set(roles));
    },
  );
});

describe('the verifier applies the clock rules of both planes (domain/tokens.ts)', () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it.each([
    {
      title: 'a token issued an hour in the future',
      sign: () => issuer.sign(claims, { issuedAt: nowSeconds() + 3600 }),
      message: 'the token was issued in the future (iat)',
    },
    {
      title: 'a token issued beyond the tolerance in the future',
      sign: () => issuer.sign(claims, { issuedAt: nowSeconds() + tokenClockToleranceSeconds + 30 }),
      message: 'the token was issued in the future (iat)',
    },
    {
      title: 'a token without exp',
      sign: () => issuer.sign(claims, { expiresIn: null }),
      message: "the token's exp claim is not acceptable",
    },
    {
      title: 'a token not valid for another minute',
      sign: () => issuer.sign({ ...claims, nbf: nowSeconds() + 60 }),
      message: "the token's nbf claim is not acceptable",
    },
  ])('refuses $title with 401', async ({ sign, message }) => {
    // Prepare
    const token = await sign();
    // Act
    const failure = verifier()(`Bearer ${token}`);
    // Assess
    await expect(failure).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(failure).rejects.toMatchObject({ status: 401, message });
  });

  it.each([
    {
      title: 'iat at the tolerance ahead',
      sign: () => issuer.sign(claims, { issuedAt: nowSeconds() + tokenClockToleranceSeconds }),
    },
    { title: 'no iat', sign: () => issuer.sign(claims, { issuedAt: null }) },
  ])('accepts a token with $title', async ({ sign }) => {
    await expect(verifier()(`Bearer ${await sign()}`)).resolves.toMatchObject({ workspace: 'acme' });
  });
});

describe('requireOperator', () => {
  it.each<[Role[]]>([[['viewer']], [['editor']], [['approver']], [['viewer', 'editor', 'approver']], [[]]])(
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
