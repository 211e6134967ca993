/**
 * One table of roles claims and the roles each must grant, run against the parser
 * (domain/roles.ts) and both surfaces that use it, each with the claim as the token carries it:
 * the management API's caller (core/auth.ts, unit and through the local HTTP API and its JWT
 * authorizer) and the hot path's token verifier (unit, and through its local function URL).
 * Security issue 10, defect 1: exact role names only; API Gateway's `[a b]` rendering is never
 * read, so a string that looks like it grants nothing.
 */
import type { Role } from '../../domain/roles.ts';

/** One claim value and the roles it names (before expansion: approver does not list editor here). */
export interface RoleClaimCase {
  /** What the case is about, for the test name. */
  readonly title: string;
  /** The claim's value; `undefined`: the claim is absent. */
  readonly claim: unknown;
  /** The roles it names, in claim order. */
  readonly roles: readonly Role[];
}

/** Every case, accepted shapes first, then what must grant nothing. */
export const roleClaimCases: readonly RoleClaimCase[] = [
  // A real JSON array of strings.
  { title: 'an array of role names', claim: ['editor', 'approver'], roles: ['editor', 'approver'] },
  { title: 'an array of two roles', claim: ['operator', 'viewer'], roles: ['operator', 'viewer'] },
  { title: 'an array with a number and an empty string', claim: ['editor', 3, ''], roles: ['editor'] },
  { title: 'an array with other non-roles', claim: ['operator', 7, ''], roles: ['operator'] },
  { title: 'an array naming a role twice', claim: ['editor', 'editor'], roles: ['editor'] },
  { title: 'an array with an unknown group', claim: ['admin', 'viewer'], roles: ['viewer'] },
  // A string holding a JSON array.
  { title: 'a JSON array string', claim: '["editor","approver"]', roles: ['editor', 'approver'] },
  { title: 'a JSON array string of two', claim: '["operator","viewer"]', roles: ['operator', 'viewer'] },
  { title: 'a JSON array string with spaces', claim: '[ "editor" ]', roles: ['editor'] },
  { title: 'an empty JSON array string', claim: '[]', roles: [] },
  { title: 'a JSON array string of approver', claim: '["approver"]', roles: ['approver'] },
  // The array the issue names, element by element.
  { title: 'an array of viewer and approver', claim: ['viewer', 'approver'], roles: ['viewer', 'approver'] },
  // A plain string equal to one role name.
  { title: 'a plain role name', claim: 'approver', roles: ['approver'] },
  { title: 'a plain operator', claim: 'operator', roles: ['operator'] },
  // Grants nothing: API Gateway HTTP API's rendering of an array claim, `[a b]`, as a token's string.
  { title: "API Gateway's [a b] as a string", claim: '[editor approver]', roles: [] },
  { title: "API Gateway's [a b] of two as a string", claim: '[operator viewer]', roles: [] },
  { title: "API Gateway's [viewer approver] as a string", claim: '[viewer approver]', roles: [] },
  { title: "API Gateway's [a] of one as a string", claim: '[viewer]', roles: [] },
  { title: "API Gateway's rendering with an unknown group as a string", claim: '[admin editor]', roles: [] },
  // Grants nothing: not exactly a role name.
  { title: '"viewer approver" as one array element', claim: ['viewer approver'], roles: [] },
  { title: '"x,approver" as one array element', claim: ['x,approver'], roles: [] },
  { title: 'a quoted "approver" as one array element', claim: ['"approver"'], roles: [] },
  { title: 'a JSON array string of "x,approver"', claim: '["x,approver"]', roles: [] },
  { title: 'a JSON array string of a quoted "approver"', claim: '["\\"approver\\""]', roles: [] },
  { title: "API Gateway's rendering of x,approver", claim: '[x,approver]', roles: [] },
  { title: "API Gateway's rendering split on commas", claim: '[viewer,approver]', roles: [] },
  { title: 'a space-separated string', claim: 'editor approver', roles: [] },
  { title: 'a space-separated string of viewer and approver', claim: 'viewer approver', roles: [] },
  { title: 'a second space-separated string', claim: 'operator viewer', roles: [] },
  { title: 'a comma-separated string', claim: 'editor,approver', roles: [] },
  { title: 'a second comma-separated string', claim: 'operator,viewer', roles: [] },
  { title: 'a comma-separated string with spaces', claim: ' editor , approver ', roles: [] },
  { title: 'a role name with a leading space', claim: ' approver', roles: [] },
  { title: 'an array element with a leading space', claim: [' approver'], roles: [] },
  { title: 'an array element with a trailing space', claim: ['approver '], roles: [] },
  { title: 'an array element in capitals', claim: ['APPROVER'], roles: [] },
  { title: 'an array element holding a JSON array', claim: ['["approver"]'], roles: [] },
  {
    title: 'an array element "viewer approver" beside viewer',
    claim: ['viewer', 'viewer approver'],
    roles: ['viewer'],
  },
  { title: 'an array element with a NUL', claim: ['approver\u0000'], roles: [] },
  { title: 'a role name in another case', claim: 'Approver', roles: [] },
  { title: 'a quoted role name', claim: '"approver"', roles: [] },
  { title: 'a nested array', claim: [['approver']], roles: [] },
  { title: 'a nested array beside viewer', claim: ['viewer', ['approver']], roles: ['viewer'] },
  { title: 'an array holding an object', claim: [{ role: 'approver' }], roles: [] },
  { title: 'a JSON array string of an object', claim: '[{"role":"approver"}]', roles: [] },
  { title: 'a JSON array string with a number', claim: '[1,"viewer"]', roles: ['viewer'] },
  { title: 'a JSON array string of a nested array', claim: '[["approver"]]', roles: [] },
  { title: 'a JSON object string', claim: '{"approver":true}', roles: [] },
  { title: 'an object', claim: { roles: ['approver'] }, roles: [] },
  { title: 'a number', claim: 42, roles: [] },
  { title: 'an array of numbers', claim: [1, 2], roles: [] },
  { title: 'a boolean', claim: true, roles: [] },
  { title: 'null', claim: null, roles: [] },
  { title: 'an empty string', claim: '', roles: [] },
  { title: 'no claim', claim: undefined, roles: [] },
];

/**
 * The test name of a case: `refuses a role claim <claim as JSON>` when it grants nothing, else
 * `grants <roles> for a role claim <claim as JSON>`.
 *
 * @example
 * roleClaimTestName({ title: '', claim: ['viewer approver'], roles: [] }); // 'refuses a role claim ["viewer approver"]'
 */
export function roleClaimTestName({ claim, roles }: RoleClaimCase): string {
  const shown = claim === undefined ? '(absent)' : JSON.stringify(claim);
  return roles.length === 0
    ? `refuses a role claim ${shown}`
    : `grants ${roles.join(', ')} for a role claim ${shown}`;
}
