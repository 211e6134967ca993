/**
 * greco's names and their patterns, each defined once with the limit behind it: Lambda function
 * names, the managed name `<prefix>-<workspace>-<name>`, workspace ids, the managed prefix, and
 * conductor names. Both planes, the CDK app, the CLI and the local cloud import them from here.
 *
 * @module
 */
import { ValidationError } from './errors.ts';

/**
 * Longest Lambda function name: "If you specify only the function name, it is limited to 64
 * characters in length" (Lambda API Reference, CreateFunction `FunctionName`).
 */
export const lambdaFunctionNameMaxLength = 64;

/**
 * A whole Lambda function name (the name form, not an ARN): letters, digits, `-` and `_`, 1 to
 * {@link lambdaFunctionNameMaxLength} characters (CreateFunction `FunctionName` pattern).
 */
export const lambdaFunctionNamePattern = new RegExp(`^[A-Za-z0-9_-]{1,${lambdaFunctionNameMaxLength}}$`);

/**
 * The characters of a model function name: Lambda's function-name characters (letters, digits,
 * `-`, `_`), at least one. Its length is checked apart, against {@link maxFunctionNameLength} of
 * the workspace, so that an error can say which bound was broken.
 */
export const functionNameCharactersPattern = /^[A-Za-z0-9_-]+$/;

/**
 * A model function name where the workspace is not known or not trusted yet (the CLI's file, the
 * hot path's path parameter): Lambda's characters, 1 to {@link lambdaFunctionNameMaxLength}, since
 * no model name can be longer than the Lambda name it is part of. The exact bound of a workspace
 * is {@link maxFunctionNameLength}.
 */
export const modelFunctionNamePattern = new RegExp(`^[A-Za-z0-9_-]{1,${lambdaFunctionNameMaxLength}}$`);

/**
 * Longest workspace id: 32 characters, greco's design. With a prefix of up to
 * {@link maxManagedPrefixLength} it leaves 14 characters of function name within Lambda's 64.
 */
export const workspaceIdMaxLength = 32;

/**
 * A workspace id: a lowercase letter, then lowercase letters, digits and hyphens, 1 to
 * {@link workspaceIdMaxLength} characters in all. It has no `#`, so config-table keys cannot
 * collide, and fits a Lambda function name.
 */
export const workspaceIdPattern = new RegExp(`^[a-z][a-z0-9-]{0,${workspaceIdMaxLength - 1}}$`);

/** The managed prefix when none is configured (context `greco:managedPrefix`, env `GRECO_MANAGED_PREFIX`). */
export const defaultManagedPrefix = 'greco';

/**
 * Longest managed prefix, in characters. Lambda function names are at most 64 characters
 * ({@link lambdaFunctionNameMaxLength}); a managed name is `<prefix>-<workspace>-<name>` with
 * workspace ids of up to {@link workspaceIdMaxLength} characters, so a 16-character prefix still
 * leaves 14 for the name.
 */
export const maxManagedPrefixLength = 16;

/**
 * A managed prefix as a deployment configures it: a lowercase letter, then lowercase letters and
 * digits, 1 to {@link maxManagedPrefixLength} characters (IAM policies match `<prefix>-*`).
 */
export const managedPrefixPattern = new RegExp(`^[a-z][a-z0-9]{0,${maxManagedPrefixLength - 1}}$`);

/**
 * Longest conductor name: 32 characters, greco's design. The name is part of config-table keys
 * (`RESULT#<conductor>#<name>`) and of construct ids.
 */
export const conductorNameMaxLength = 32;

/**
 * A conductor's name: a lowercase letter, then lowercase letters, digits and hyphens, 1 to
 * {@link conductorNameMaxLength} characters (no `#`, usable in keys).
 */
export const conductorNamePattern = new RegExp(`^[a-z][a-z0-9-]{0,${conductorNameMaxLength - 1}}$`);

/**
 * Name of the Lambda function greco manages for a model function: `<prefix>-<workspace>-<name>`.
 *
 * @example
 * managedFunctionName('greco', 'acme', 'resize'); // 'greco-acme-resize'
 */
export function managedFunctionName(prefix: string, workspace: string, name: string): string {
  return `${prefix}-${workspace}-${name}`;
}

/**
 * Longest model function name a workspace allows, so that the managed name fits Lambda's
 * {@link lambdaFunctionNameMaxLength}: 64 minus the prefix, the workspace and two hyphens.
 *
 * @example
 * maxFunctionNameLength('greco', 'acme'); // 53
 */
export function maxFunctionNameLength(prefix: string, workspace: string): number {
  return lambdaFunctionNameMaxLength - prefix.length - workspace.length - 2;
}

/**
 * Checks a workspace id against {@link workspaceIdPattern}: lowercase letters, digits and hyphens,
 * 1 to {@link workspaceIdMaxLength} characters, starting with a letter.
 *
 * @throws ValidationError (400) on field `workspace`, saying which rule was broken
 */
export function validateWorkspaceId(workspace: string): void {
  const message = workspaceIdProblem(workspace);
  if (message !== undefined) throw new ValidationError([{ field: 'workspace', message }]);
}

function workspaceIdProblem(workspace: unknown): string | undefined {
  if (typeof workspace !== 'string') return `must be a string, got ${typeof workspace}`;
  if (workspace.length < 1 || workspace.length > workspaceIdMaxLength) {
    return `must be 1 to ${workspaceIdMaxLength} characters, got ${workspace.length}`;
  }
  if (!workspaceIdPattern.test(workspace)) {
    return `must start with a lowercase letter and contain only lowercase letters, digits and hyphens, got ${JSON.stringify(workspace)}`;
  }
  return undefined;
}
