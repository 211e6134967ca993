import { describe, expect, it } from 'vitest';
import { IncludedRoles, isRole, parseRolesClaim, Roles } from '../../domain/roles.ts';
import { roleClaimCases, roleClaimTestName } from '../support/role-claims.ts';

describe('parseRolesClaim', () => {
  it.each(roleClaimCases.map((c) => [roleClaimTestName(c), c] as const))('%s', (_name, { claim, roles }) => {
    // Act
    const parsed = parseRolesClaim(claim);
    // Assess
    expect(parsed).toEqual(roles);
  });

  it('refuses a role claim "viewer approver" held in one group name', () => {
    expect(parseRolesClaim(['viewer approver'])).toEqual([]);
    expect(parseRolesClaim(['viewer', 'viewer approver'])).toEqual(['viewer']);
  });

  it('reads no API Gateway rendering `[a b]`: the claim is read from the token, where it is a real array', () => {
    expect(parseRolesClaim('[viewer  approver]')).toEqual([]);
    expect(parseRolesClaim('[viewer\tapprover]')).toEqual([]);
    expect(parseRolesClaim('[viewer "approver"]')).toEqual([]);
    expect(parseRolesClaim('[viewer, approver]')).toEqual([]);
  });

  it('refuses a lone group named "\\"approver\\"" (quotes included), which API Gateway would render as ["approver"]', () => {
    expect(parseRolesClaim(['"approver"'])).toEqual([]);
  });
});

describe('Roles', () => {
  it('lists the four roles in the documented order', () => {
    expect(Roles).toEqual(['viewer', 'editor', 'approver', 'operator']);
  });

  it.each([
    { role: 'viewer', includes: ['viewer'] },
    { role: 'editor', includes: ['editor', 'viewer'] },
    { role: 'approver', includes: ['approver', 'editor', 'viewer'] },
    { role: 'operator', includes: ['operator'] },
  ] as const)('lets $role include $includes', ({ role, includes }) => {
    expect(IncludedRoles[role]).toEqual(includes);
  });

  it('keeps operator apart from the management roles', () => {
    for (const role of ['viewer', 'editor', 'approver'] as const) {
      expect(IncludedRoles[role]).not.toContain('operator');
    }
    expect(IncludedRoles.operator).toEqual(['operator']);
  });

  it.each([
    ['viewer', true],
    ['operator', true],
    ['Viewer', false],
    [' viewer', false],
    ['admin', false],
    [1, false],
    [undefined, false],
  ])('says whether %j is a role: %s', (name, expected) => {
    expect(isRole(name)).toBe(expected);
  });
});
