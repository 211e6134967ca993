/**
 * The execution role of a workspace's functions (domain/data-plane-roles.ts): before the first
 * change of a workspace is staged in a call, the Lambda adapter ensures the role exists under
 * `/greco/<prefix>/workspaces/` with the data-plane permissions boundary, and that its inline
 * policy lets it write its own workspace log group only. Once per conductor call, shared by the
 * call's changes (`ConductorCall.scratch`), never cached across calls: a role deleted by an
 * operator between two calls is created again.
 *
 * IAM calls draw nothing from Lambda's control-plane budget (they go to IAM, not Lambda). The
 * SDK's IAM exceptions are translated here: throttling and 5xx are transient (the change stays
 * pending), anything else is a {@link ConductorIamError}.
 *
 * @module
 */
import {
  CreateRoleCommand,
  GetRoleCommand,
  type IAMClient,
  PutRolePolicyCommand,
  type Role,
} from '@aws-sdk/client-iam';
import {
  type ArnEnvironment,
  workspaceRoleName,
  workspaceRolePath,
  workspaceRolePolicy,
  workspaceRolePolicyName,
  workspaceRoleTrustPolicy,
} from '../../../domain/data-plane-roles.ts';
import type { ConductorCall } from '../kit/conductor.ts';
import { ConductorError, describeError, isTransientError, TransientChangeError } from '../kit/errors.ts';
import { errorName } from './errors.ts';

/** Where per-workspace roles come from: the IAM client and the boundary every role is created with. */
export interface WorkspaceRoleSettings {
  readonly iam: IAMClient;
  /** ARN of the data-plane permissions boundary (`GRECO_DATA_PLANE_BOUNDARY_ARN`). */
  readonly boundaryArn: string;
  /** Prefix of managed function names: the roles' path and names (`GRECO_MANAGED_PREFIX`). */
  readonly managedPrefix: string;
  /** Region of the workspace log groups (the Lambda client's Region). */
  readonly region: () => Promise<string>;
}

/** An IAM call of the Lambda conductor failed for a reason that is greco's fault, e.g. `AccessDenied`. */
export class ConductorIamError extends ConductorError {
  /** The IAM API operation, e.g. `CreateRole`. */
  readonly operation: string;
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConductorIamError';
    this.operation = operation;
  }
}

/** IAM's own "not now" errors, by name (the kit knows 429, 5xx and no answer). */
const iamTransientNames = new Set([
  'Throttling',
  'ThrottlingException',
  'ServiceFailureException',
  'ConcurrentModificationException',
]);

/** Translates an IAM failure: transient, or {@link ConductorIamError}. */
function iamFailure(operation: string, roleName: string, error: unknown): Error {
  if (isTransientError(error) || iamTransientNames.has(errorName(error)))
    return new TransientChangeError(`${operation} ${roleName}: ${errorName(error)}`, { cause: error });
  return new ConductorIamError(operation, `${operation} ${roleName} failed: ${describeError(error)}`, {
    cause: error,
  });
}

/** Partition and account of an ARN (`arn:<partition>:iam::<account>:policy/...`). */
function arnParts(arn: string): { partition: string; account: string } {
  const [, partition = 'aws', , , account = ''] = arn.split(':');
  return { partition, account };
}

/** GetRole: the role, `undefined` when it does not exist. */
async function getRole(iam: IAMClient, roleName: string): Promise<Role | undefined> {
  try {
    return (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
  } catch (error) {
    if (errorName(error) === 'NoSuchEntityException') return undefined;
    throw iamFailure('GetRole', roleName, error);
  }
}

/**
 * Ensures the execution role of `workspace`: GetRole, CreateRole when it is missing (path, name,
 * Lambda trust policy, the permissions boundary; `EntityAlreadyExists` from a concurrent writer is
 * fine), then PutRolePolicy of the workspace policy. Returns the role's ARN.
 *
 * @throws TransientChangeError when IAM throttles or fails (5xx)
 * @throws ConductorIamError when IAM refuses a call (e.g. AccessDenied)
 */
export async function ensureWorkspaceRole(
  settings: WorkspaceRoleSettings,
  workspace: string,
): Promise<string> {
  const { iam, managedPrefix, boundaryArn } = settings;
  const roleName = workspaceRoleName(managedPrefix, workspace);
  let role = await getRole(iam, roleName);
  if (role === undefined) {
    try {
      role = (
        await iam.send(
          new CreateRoleCommand({
            RoleName: roleName,
            Path: workspaceRolePath(managedPrefix),
            AssumeRolePolicyDocument: JSON.stringify(workspaceRoleTrustPolicy),
            PermissionsBoundary: boundaryArn,
            Description: `greco: execution role of workspace ${workspace}'s functions (logs of its own log group only)`,
          }),
        )
      ).Role;
    } catch (error) {
      if (errorName(error) !== 'EntityAlreadyExistsException')
        throw iamFailure('CreateRole', roleName, error);
      role = await getRole(iam, roleName);
    }
  }
  if (role?.Arn === undefined)
    throw new TransientChangeError(`role ${roleName} was created and cannot be read yet`);
  const env: ArnEnvironment = { ...arnParts(boundaryArn), region: await settings.region() };
  try {
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: workspaceRolePolicyName,
        PolicyDocument: JSON.stringify(workspaceRolePolicy(env, managedPrefix, workspace)),
      }),
    );
  } catch (error) {
    throw iamFailure('PutRolePolicy', roleName, error);
  }
  return role.Arn;
}

/**
 * The workspace role of a call: ensured by the first change that asks, shared by the others of the
 * same call through `call.scratch` (a failed attempt is forgotten, so the next change tries again).
 *
 * @throws TransientChangeError, ConductorIamError as {@link ensureWorkspaceRole}
 */
export function workspaceRoleOfCall(settings: WorkspaceRoleSettings, call: ConductorCall): Promise<string> {
  const key = `lambda:workspace-role:${call.workspace}`;
  const known = call.scratch?.get(key) as Promise<string> | undefined;
  if (known !== undefined) return known;
  const ensured = ensureWorkspaceRole(settings, call.workspace);
  call.scratch?.set(key, ensured);
  ensured.catch(() => call.scratch?.delete(key));
  return ensured;
}
