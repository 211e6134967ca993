import { describe, expect, it } from 'vitest';
import {
  callerFromClaims,
  claimNamesFromEnv,
  hasRole,
  parseClaimList,
  requireRole,
} from '../../core/auth.ts';
import { ForbiddenError, UnauthorizedError } from '../../core/errors.ts';

const names = { workspaceClaim: 'custom:workspace', rolesClaim: 'cognito:groups' };

describe('parseClaimList', () => {
  it.each([
    { value: '[editor approver]', expected: ['editor', 'approver'] },
    { value: '[viewer]', expected: ['viewer'] },
    { value: '[]', expected: [] },
    { value: '["editor","approver"]', expected: ['editor', 'approver'] },
    { value: '[ "editor" ]', expected: ['editor'] },
    { value: 'editor approver', expected: ['editor', 'approver'] },
    { value: 'editor,approver', expected: ['editor', 'approver'] },
    { value: ' editor , approver ', expected: ['editor', 'approver'] },
    { value: ['editor', 'approver'], expected: ['editor', 'approver'] },
    { value: ['editor', 3, ''], expected: ['editor'] },
    { value: '', expected: [] },
    { value: undefined, expected: [] },
    { value: 42, expected: [] },
  ])('reads $value as $expected', ({ value, expected }) => {
    expect(parseClaimList(value)).toEqual(expected);
  });
});

describe('callerFromClaims', () => {
  const claims = (roles: string, extra: Record<string, string> = {}) => ({
    sub: 'sub-1',
    'cognito:username': 'ada',
    'custom:workspace': 'acme',
    'cognito:groups': roles,
    ...extra,
  });

  it.each([
    { roles: '[viewer]', has: ['viewer'], lacks: ['editor', 'approver', 'operator'] },
    { roles: '[editor]', has: ['viewer', 'editor'], lacks: ['approver', 'operator'] },
    { roles: '[approver]', has: ['viewer', 'editor', 'approver'], lacks: ['operator'] },
    { roles: '[operator]', has: ['operator'], lacks: ['viewer', 'editor', 'approver'] },
    { roles: '[viewer operator]', has: ['viewer', 'operator'], lacks: ['editor', 'approver'] },
    { roles: '[admin editor]', has: ['viewer', 'editor'], lacks: ['approver', 'operator'] },
  ] as const)('expands $roles', ({ roles, has, lacks }) => {
    const caller = callerFromClaims(claims(roles), names);
    for (const role of has) expect(hasRole(caller, role)).toBe(true);
    for (const role of lacks) expect(hasRole(caller, role)).toBe(false);
  });

  it('takes the workspace and the actor from the claims', () => {
    const caller = callerFromClaims(claims('[editor]'), names);
    expect(caller.workspace).toBe('acme');
    expect(caller.actor).toEqual({ sub: 'sub-1', username: 'ada' });
  });

  it('falls back to other username claims, and to none', () => {
    const { 'cognito:username': _, ...rest } = claims('[editor]');
    expect(callerFromClaims({ ...rest, email: 'ada@example.com' }, names).actor).toEqual({
      sub: 'sub-1',
      username: 'ada@example.com',
    });
    expect(callerFromClaims(rest, names).actor).toEqual({ sub: 'sub-1' });
  });

  it.each([
    { title: 'no claims', input: undefined, error: UnauthorizedError },
    {
      title: 'no sub',
      input: { 'custom:workspace': 'acme', 'cognito:groups': '[editor]' },
      error: UnauthorizedError,
    },
    { title: 'no workspace', input: { sub: 's', 'cognito:groups': '[editor]' }, error: ForbiddenError },
    {
      title: 'a bad workspace',
      input: { sub: 's', 'custom:workspace': 'ACME', 'cognito:groups': '[editor]' },
      error: ForbiddenError,
    },
    { title: 'no roles', input: { sub: 's', 'custom:workspace': 'acme' }, error: ForbiddenError },
    {
      title: 'unknown roles',
      input: { sub: 's', 'custom:workspace': 'acme', 'cognito:groups': '[root]' },
      error: ForbiddenError,
    },
  ])('refuses $title', ({ input, error }) => {
    expect(() => callerFromClaims(input, names)).toThrow(error);
  });

  it('reads the claims named by configuration', () => {
    const caller = callerFromClaims(
      { sub: 's', tenant: 'beta', groups: 'approver' },
      {
        workspaceClaim: 'tenant',
        rolesClaim: 'groups',
      },
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

describe('requireRole', () => {
  it('throws a 403 naming the role', () => {
    const caller = callerFromClaims(
      { sub: 's', 'custom:workspace': 'acme', 'cognito:groups': '[viewer]' },
      names,
    );
    expect(() => requireRole(caller, 'viewer')).not.toThrow();
    expect(() => requireRole(caller, 'editor')).toThrow(/needs the editor role/);
  });
});
