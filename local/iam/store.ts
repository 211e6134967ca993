/**
 * The IAM emulator's roles and their inline policies, in memory. Recorded, not enforced: nothing
 * of the local cloud asks IAM whether a call is allowed (docs/local-cloud.md).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** An IAM API error: its query-protocol code (`<Error><Code>`) and HTTP status. */
export class IamApiError extends Error {
  /** The error code, e.g. `NoSuchEntity` (the SDK raises `NoSuchEntityException`). */
  readonly code: string;
  /** HTTP status. @default 400 */
  readonly status: number;
  constructor(code: string, message: string, status = 400, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IamApiError';
    this.code = code;
    this.status = status;
  }
}

/** A role as GetRole describes it. */
export interface StoredRole {
  readonly path: string;
  readonly roleName: string;
  readonly roleId: string;
  readonly arn: string;
  readonly createDate: Date;
  /** The trust policy, JSON text as given. */
  readonly assumeRolePolicyDocument: string;
  readonly description?: string;
  readonly maxSessionDuration: number;
  /** ARN of the permissions boundary (a managed policy), when set. */
  readonly permissionsBoundary?: string;
  /** Inline policies: name → JSON text. */
  readonly policies: Map<string, string>;
}

/** What CreateRole takes. */
export interface CreateRoleInput {
  readonly roleName: string;
  /** @default '/' */
  readonly path?: string;
  readonly assumeRolePolicyDocument: string;
  readonly description?: string;
  readonly maxSessionDuration?: number;
  readonly permissionsBoundary?: string;
}

/** IAM's role name pattern and length (IAM API Reference, CreateRole `RoleName`: 1 to 64 of `[\w+=,.@-]`). */
const roleNamePattern = /^[\w+=,.@-]{1,64}$/;
/** IAM's path pattern (CreateRole `Path`: `/` or `/…/`, 1 to 512 characters). */
const pathPattern = /^\/([\u0021-\u007e]{0,510}\/)?$/;

function validation(message: string): IamApiError {
  return new IamApiError('ValidationError', message);
}

function noSuchRole(roleName: string): IamApiError {
  return new IamApiError('NoSuchEntity', `The role with name ${roleName} cannot be found.`, 404);
}

/** The roles of one account, by name (IAM role names are unique per account, case-insensitively). */
export class RoleStore {
  readonly #roles = new Map<string, StoredRole>();
  readonly #accountId: string;

  constructor(accountId: string) {
    this.#accountId = accountId;
  }

  /** @throws IamApiError EntityAlreadyExists (409), ValidationError */
  create(input: CreateRoleInput): StoredRole {
    checkRoleName(input.roleName);
    const path = input.path ?? '/';
    if (!pathPattern.test(path)) throw validation(`Path ${path} must begin and end with /`);
    if (this.#roles.has(input.roleName.toLowerCase())) {
      throw new IamApiError('EntityAlreadyExists', `Role with name ${input.roleName} already exists.`, 409);
    }
    try {
      JSON.parse(input.assumeRolePolicyDocument);
    } catch (error) {
      throw new IamApiError('MalformedPolicyDocument', 'The trust policy is not valid JSON', 400, {
        cause: error,
      });
    }
    const role: StoredRole = {
      path,
      roleName: input.roleName,
      roleId: `AROA${randomBytes(12).toString('hex').toUpperCase().slice(0, 17)}`,
      arn: `arn:aws:iam::${this.#accountId}:role${path}${input.roleName}`,
      createDate: new Date(),
      assumeRolePolicyDocument: input.assumeRolePolicyDocument,
      ...(input.description === undefined ? {} : { description: input.description }),
      maxSessionDuration: input.maxSessionDuration ?? 3600,
      ...(input.permissionsBoundary === undefined ? {} : { permissionsBoundary: input.permissionsBoundary }),
      policies: new Map(),
    };
    this.#roles.set(input.roleName.toLowerCase(), role);
    return role;
  }

  /** @throws IamApiError NoSuchEntity (404) */
  get(roleName: string): StoredRole {
    checkRoleName(roleName);
    const role = this.#roles.get(roleName.toLowerCase());
    if (role === undefined) throw noSuchRole(roleName);
    return role;
  }

  /** Every role whose path starts with `pathPrefix`, by name. */
  list(pathPrefix = '/'): StoredRole[] {
    return [...this.#roles.values()]
      .filter((role) => role.path.startsWith(pathPrefix))
      .sort((a, b) => a.roleName.localeCompare(b.roleName));
  }

  /** @throws IamApiError NoSuchEntity (404), DeleteConflict (409) while it has inline policies */
  delete(roleName: string): void {
    const role = this.get(roleName);
    if (role.policies.size > 0) {
      throw new IamApiError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
    }
    this.#roles.delete(roleName.toLowerCase());
  }

  /** @throws IamApiError NoSuchEntity (404), MalformedPolicyDocument */
  putPolicy(roleName: string, policyName: string, document: string): void {
    const role = this.get(roleName);
    if (!/^[\w+=,.@-]{1,128}$/.test(policyName)) throw validation(`PolicyName ${policyName} is not valid`);
    try {
      JSON.parse(document);
    } catch (error) {
      throw new IamApiError('MalformedPolicyDocument', 'The policy is not valid JSON', 400, { cause: error });
    }
    role.policies.set(policyName, document);
  }

  /** @throws IamApiError NoSuchEntity (404) for the role or the policy */
  getPolicy(roleName: string, policyName: string): string {
    const document = this.get(roleName).policies.get(policyName);
    if (document === undefined) {
      throw new IamApiError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`, 404);
    }
    return document;
  }

  /** @throws IamApiError NoSuchEntity (404) for the role or the policy */
  deletePolicy(roleName: string, policyName: string): void {
    this.getPolicy(roleName, policyName);
    this.get(roleName).policies.delete(policyName);
  }
}

function checkRoleName(roleName: string): void {
  if (!roleNamePattern.test(roleName)) {
    throw validation(
      `1 validation error detected: Value '${roleName}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
    );
  }
}
