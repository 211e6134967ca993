/**
 * greco's roles, what each includes, and the one parser of the roles claim that both planes use
 * (the management API behind API Gateway's JWT authorizer, the hot path verifying tokens itself).
 *
 * @module
 */

/**
 * Every role, in the order the API documents them. They are also the Cognito group names of the
 * user pool greco creates (the `cognito:groups` claim).
 */
export const Roles = ['viewer', 'editor', 'approver', 'operator'] as const;

/**
 * A greco role: viewer (read), editor (edit drafts), approver (deploy, roll back), operator (start,
 * suspend on the hot path).
 */
export type Role = (typeof Roles)[number];

/**
 * The roles each role includes, itself first: viewer < editor < approver, each including the ones
 * before; operator stands apart (the management roles do not include it, nor it them).
 */
export const IncludedRoles: Readonly<Record<Role, readonly Role[]>> = {
  viewer: ['viewer'],
  editor: ['editor', 'viewer'],
  approver: ['approver', 'editor', 'viewer'],
  operator: ['operator'],
};

/** Whether `name` is exactly the name of a role (case-sensitive, no trimming). */
export function isRole(name: unknown): name is Role {
  return typeof name === 'string' && (Roles as readonly string[]).includes(name);
}

/**
 * Reads the roles claim of a token: exact role names only, each role once, in claim order.
 * Anything not exactly a role name grants nothing; no element is ever split, trimmed or unquoted.
 * Both planes read the claim from the token's own payload (the hot path after verifying it, the
 * management API from the token API Gateway's JWT authorizer verified, see core/auth.ts), never
 * from API Gateway's rendering of it (`[a b]`), which loses the element boundaries: a group named
 * `viewer approver` renders like two groups, and a lone group named `"approver"` (quotes included)
 * renders as `["approver"]`, which is also a JSON array.
 *
 * Accepted shapes:
 * - a JSON array of strings (e.g. `cognito:groups`): each element that equals a role name;
 *   others, and elements that are not strings, are ignored;
 * - a string holding a JSON array of strings (an issuer that can only put strings in claims, such
 *   as a Cognito pre-token-generation trigger): the same;
 * - a plain string equal to one role name, e.g. `approver`.
 *
 * Anything else (`viewer approver`, `editor,approver`, `[viewer approver]`, nested arrays,
 * objects, numbers) grants nothing.
 *
 * @param claim the claim's value as the token's payload has it; `undefined` when absent
 * @returns the roles named, without the roles they include (see {@link IncludedRoles})
 * @example
 * parseRolesClaim(['editor', 'approver']); // ['editor', 'approver']
 * parseRolesClaim('["editor","approver"]'); // ['editor', 'approver']
 * parseRolesClaim('approver'); // ['approver']
 * parseRolesClaim('[editor approver]'); // []
 * parseRolesClaim('editor,approver'); // []
 * parseRolesClaim(['x,approver', '"approver"', 'viewer approver']); // []
 */
export function parseRolesClaim(claim: unknown): Role[] {
  if (Array.isArray(claim)) return exactRoles(claim);
  if (typeof claim !== 'string') return [];
  if (isRole(claim)) return [claim];
  if (!claim.startsWith('[')) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(claim);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? exactRoles(parsed) : [];
}

/** The elements of `items` that are exactly role names, each once, in order. */
function exactRoles(items: readonly unknown[]): Role[] {
  const roles: Role[] = [];
  for (const item of items) if (isRole(item) && !roles.includes(item)) roles.push(item);
  return roles;
}
