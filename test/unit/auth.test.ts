import { describe, expect, it } from 'vitest';
import { callerFromRequest, claimNamesFromEnv, hasRole, requireRole } from '../../core/auth.ts';
import { ForbiddenError, UnauthorizedError } from '../../domain/errors.ts';
import { IncludedRoles } from '../../domain/roles.ts';
import { tokenClockToleranceSeconds } from '../../domain/tokens.ts';
import { renderClaims, unsignedToken } from '../support/http-api-event.ts';
import { roleClaimCases, roleClaimTestName } from '../support/role-claims.ts';

const names = { workspaceClaim: 'custom:workspace', rolesClaim: 'cognito:groups' };
const now = 1_800_000_000;

/** A token's payload: sub, iss, an hour of validity from `now`, and `extra` (`undefined` removes a claim). */
function payload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    sub: 'sub-1',
    iss: 'https://issuer.example.test',
    aud: 'greco-test',
    iat: now,
    exp: now + 3600,
    jti: 'jti-1',
    'cognito:username': 'ada',
    'custom:workspace': 'acme',
    'cognito:groups': ['editor'],
    ...extra,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}

/** What the management handler gets for a token: the authorizer's rendered claims and the header. */
function requestFor(token: Record<string, unknown>) {
  return { claims: renderClaims(token), authorization: `Bearer ${unsignedToken(token)}` };
}

describe('callerFromRequest reads the roles claim exactly, from the token', () => {
  it.each(roleClaimCases.map((c) => [roleClaimTestName(c), c] as const))('%s', (_name, { claim, roles }) => {
    // Prepare: the token carries the case's value (API Gateway would render it into the claims).
    const token = payload({ 'cognito:groups': claim });
    // Act
    const read = () => callerFromRequest(requestFor(token), names, now);
    // Assess: the named roles with the ones they include, or 403 when none is named.
    if (roles.length === 0) {
      expect(read).toThrow(ForbiddenError);
    } else {
      expect(read().roles).toEqual(new Set(roles.flatMap((role) => IncludedRoles[role])));
    }
  });

  it.each([
    { title: 'a group "viewer approver"', groups: ['viewer approver'], rendered: '[viewer approver]' },
    { title: 'a lone group "\\"approver\\""', groups: ['"approver"'], rendered: '["approver"]' },
  ])('refuses $title, whatever API Gateway renders it as ($rendered)', ({ groups, rendered }) => {
    // Prepare: the authorizer's rendering would read as approver; the token says otherwise.
    const token = payload({ 'cognito:groups': groups });
    const request = requestFor(token);
    expect(request.claims['cognito:groups']).toBe(rendered);
    // Act
    const read = () => callerFromRequest(request, names, now);
    // Assess
    expect(read).toThrow(ForbiddenError);
    expect(read).toThrow(/grants none of the roles/);
  });
});

describe('callerFromRequest', () => {
  it.each([
    { roles: ['viewer'], has: ['viewer'], lacks: ['editor', 'approver', 'operator'] },
    { roles: ['editor'], has: ['viewer', 'editor'], lacks: ['approver', 'operator'] },
    { roles: ['approver'], has: ['viewer', 'editor', 'approver'], lacks: ['operator'] },
    { roles: ['operator'], has: ['operator'], lacks: ['viewer', 'editor', 'approver'] },
    { roles: ['viewer', 'operator'], has: ['viewer', 'operator'], lacks: ['editor', 'approver'] },
    { roles: ['admin', 'editor'], has: ['viewer', 'editor'], lacks: ['approver', 'operator'] },
  ] as const)('expands $roles', ({ roles, has, lacks }) => {
    const caller = callerFromRequest(requestFor(payload({ 'cognito:groups': roles })), names, now);
    for (const role of has) expect(hasRole(caller, role)).toBe(true);
    for (const role of lacks) expect(hasRole(caller, role)).toBe(false);
  });

  it('takes the workspace and the actor from the token', () => {
    const caller = callerFromRequest(requestFor(payload()), names, now);
    expect(caller.workspace).toBe('acme');
    expect(caller.actor).toEqual({ sub: 'sub-1', username: 'ada' });
  });

  it('falls back to other username claims, and to none', () => {
    const withEmail = payload({ 'cognito:username': undefined, email: 'ada@example.com' });
    expect(callerFromRequest(requestFor(withEmail), names, now).actor).toEqual({
      sub: 'sub-1',
      username: 'ada@example.com',
    });
    const anonymous = payload({ 'cognito:username': undefined });
    expect(callerFromRequest(requestFor(anonymous), names, now).actor).toEqual({ sub: 'sub-1' });
  });

  it('accepts the token bare or after any-case Bearer, as the identity source does', () => {
    const token = payload();
    for (const authorization of [unsignedToken(token), `bearer ${unsignedToken(token)}`]) {
      expect(callerFromRequest({ claims: renderClaims(token), authorization }, names, now).workspace).toBe(
        'acme',
      );
    }
  });

  it.each([
    { title: 'no claims', input: { claims: undefined, authorization: undefined }, error: UnauthorizedError },
    {
      title: 'no sub',
      input: requestFor(payload({ sub: undefined })),
      error: UnauthorizedError,
    },
    {
      title: 'no workspace',
      input: requestFor(payload({ 'custom:workspace': undefined })),
      error: ForbiddenError,
    },
    {
      title: 'a bad workspace',
      input: requestFor(payload({ 'custom:workspace': 'ACME' })),
      error: ForbiddenError,
    },
    {
      title: 'a workspace that is not a string',
      input: requestFor(payload({ 'custom:workspace': ['acme'] })),
      error: ForbiddenError,
    },
    { title: 'no roles', input: requestFor(payload({ 'cognito:groups': undefined })), error: ForbiddenError },
    {
      title: 'unknown roles',
      input: requestFor(payload({ 'cognito:groups': ['root'] })),
      error: ForbiddenError,
    },
  ])('refuses $title', ({ input, error }) => {
    expect(() => callerFromRequest(input, names, now)).toThrow(error);
  });

  it('reads the claims named by configuration', () => {
    const token = payload({ tenant: 'beta', groups: 'approver' });
    const caller = callerFromRequest(
      requestFor(token),
      { workspaceClaim: 'tenant', rolesClaim: 'groups' },
      now,
    );
    expect(caller.workspace).toBe('beta');
    expect(hasRole(caller, 'editor')).toBe(true);
  });

  it('names the claims from the environment, with defaults', () => {
    expect(claimNamesFromEnv({})).toEqual(names);
    expect(claimNamesFromEnv({ GRECO_WORKSPACE_CLAIM: 'tenant', GRECO_ROLES_CLAIM: 'groups' })).toEqual({
      workspaceClaim: 'tenant',
      rolesClaim: 'groups',
    });
  });
});

describe('callerFromRequest takes only the token the authorizer verified', () => {
  const verified = payload();
  const claims = renderClaims(verified);
  it.each([
    { title: 'no authorization header', authorization: undefined, detail: /carries no bearer token/ },
    {
      title: 'another scheme',
      authorization: `Basic ${unsignedToken(verified)}`,
      detail: /carries no bearer token/,
    },
    {
      title: 'two tokens',
      authorization: `Bearer ${unsignedToken(verified)}, Bearer x.y.z`,
      detail: /no bearer/,
    },
    {
      title: 'a payload that is not JSON',
      authorization: 'Bearer aGVhZA.bm90IGpzb24.c2ln',
      detail: /not JSON/,
    },
    {
      title: 'a payload that is a JSON array',
      authorization: `Bearer aGVhZA.${Buffer.from('["approver"]').toString('base64url')}.c2ln`,
      detail: /not a JSON object/,
    },
    {
      title: 'another sub',
      authorization: `Bearer ${unsignedToken({ ...verified, sub: 'sub-2' })}`,
      detail: /not carry the token the authorizer verified/,
    },
    {
      title: 'another issuer',
      authorization: `Bearer ${unsignedToken({ ...verified, iss: 'https://evil.example.com' })}`,
      detail: /not carry the token the authorizer verified/,
    },
    {
      title: 'another exp',
      authorization: `Bearer ${unsignedToken({ ...verified, exp: now + 7200 })}`,
      detail: /not carry the token the authorizer verified/,
    },
    {
      title: 'another jti',
      authorization: `Bearer ${unsignedToken({ ...verified, jti: 'jti-2' })}`,
      detail: /not carry the token the authorizer verified/,
    },
    {
      title: 'a token with more roles and no jti',
      authorization: `Bearer ${unsignedToken({ ...verified, jti: undefined, 'cognito:groups': ['approver'] })}`,
      detail: /not carry the token the authorizer verified/,
    },
  ])('refuses $title with 401', ({ authorization, detail }) => {
    // Act
    const read = () => callerFromRequest({ claims, authorization }, names, now);
    // Assess
    expect(read).toThrow(UnauthorizedError);
    expect(read).toThrow(detail);
  });
});

describe('callerFromRequest applies the clock rules of both planes', () => {
  const tolerance = tokenClockToleranceSeconds;
  it.each([
    { title: 'a token without exp', change: { exp: undefined }, detail: /has no exp claim/ },
    {
      title: 'an exp that is a string',
      change: { exp: String(now + 60) },
      detail: /exp claim is not a number/,
    },
    { title: 'an expired token', change: { exp: now - tolerance }, detail: /has expired/ },
    { title: 'a token not valid yet', change: { nbf: now + tolerance + 1 }, detail: /not valid yet/ },
    {
      title: 'a token issued in the future',
      change: { iat: now + tolerance + 1 },
      detail: /issued in the future/,
    },
    { title: 'a token issued an hour ahead', change: { iat: now + 3600 }, detail: /issued in the future/ },
    { title: 'an iat that is not a number', change: { iat: 'now' }, detail: /iat claim is not a number/ },
  ])('refuses $title with 401', ({ change, detail }) => {
    // Prepare
    const token = payload(change);
    // Act
    const read = () => callerFromRequest(requestFor(token), names, now);
    // Assess
    expect(read).toThrow(UnauthorizedError);
    expect(read).toThrow(detail);
  });

  it.each([
    { title: 'expires within the tolerance', change: { exp: now - tolerance + 1 } },
    { title: 'nbf within the tolerance', change: { nbf: now + tolerance } },
    { title: 'iat within the tolerance', change: { iat: now + tolerance } },
    { title: 'no iat', change: { iat: undefined } },
  ])('accepts a token whose $title', ({ change }) => {
    expect(callerFromRequest(requestFor(payload(change)), names, now).workspace).toBe('acme');
  });
});

describe('requireRole', () => {
  it('throws a 403 naming the role', () => {
    const caller = callerFromRequest(requestFor(payload({ 'cognito:groups': ['viewer'] })), names, now);
    expect(() => requireRole(caller, 'viewer')).not.toThrow();
    expect(() => requireRole(caller, 'editor')).toThrow(/needs the editor role/);
  });
});
