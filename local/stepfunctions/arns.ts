/**
 * ARNs and names of state machines and executions, with the rules AWS applies to them.
 *
 * @see https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (names)
 */

/** Longest state machine or execution name, in characters (Step Functions quota, hard). */
export const maxNameLength = 80;

// Whitespace, brackets, wildcards and special characters, as the quota page lists.
const forbiddenNameCharacters = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u;

/** Control characters U+0000-001F and U+007F-009F, which names may not contain either. */
function controlCharacterIn(name: string): string | undefined {
  for (const character of name) {
    const code = character.codePointAt(0) ?? 0;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return character;
  }
  return undefined;
}

/**
 * Checks a state machine or execution name against AWS's rules: 1 to 80 characters, none of
 * whitespace, `< > { } [ ]`, `? *`, `" # % \ ^ | ~ \` $ & , ; : /`, or control characters.
 *
 * @returns a message naming the problem, or `undefined` when the name is valid
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return 'name must not be empty';
  if (name.length > maxNameLength) return `name is longer than ${maxNameLength} characters`;
  const bad = forbiddenNameCharacters.exec(name)?.[0] ?? controlCharacterIn(name);
  if (bad !== undefined)
    return `name contains the character ${JSON.stringify(bad)}, which AWS does not allow`;
  return undefined;
}

/** The parts of a state machine ARN, `arn:<partition>:states:<region>:<account>:stateMachine:<name>[:<qualifier>]`. */
export interface StateMachineArnParts {
  readonly region: string;
  readonly accountId: string;
  readonly name: string;
  /** A version number or alias name after the name; this emulator keeps neither. */
  readonly qualifier?: string;
}

/** The parts of an execution ARN, `arn:<partition>:states:<region>:<account>:execution:<stateMachine>:<name>`. */
export interface ExecutionArnParts {
  readonly region: string;
  readonly accountId: string;
  readonly stateMachineName: string;
  readonly name: string;
}

const stateMachineArnPattern =
  /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:([^:]+)(?::([^:]+))?$/;
const executionArnPattern = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):execution:([^:]+):([^:]+)$/;
const roleArnPattern = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Builds `arn:aws:states:<region>:<accountId>:stateMachine:<name>`. */
export function stateMachineArn(region: string, accountId: string, name: string): string {
  return `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
}

/** Builds `arn:aws:states:<region>:<accountId>:execution:<stateMachineName>:<name>`. */
export function executionArn(
  region: string,
  accountId: string,
  stateMachineName: string,
  name: string,
): string {
  return `arn:aws:states:${region}:${accountId}:execution:${stateMachineName}:${name}`;
}

/** Parses a state machine ARN; `undefined` when `arn` is not one. */
export function parseStateMachineArn(arn: string): StateMachineArnParts | undefined {
  const match = stateMachineArnPattern.exec(arn);
  if (match === null) return undefined;
  const [, region = '', accountId = '', name = '', qualifier] = match;
  return qualifier === undefined ? { region, accountId, name } : { region, accountId, name, qualifier };
}

/** Parses an execution ARN; `undefined` when `arn` is not one. */
export function parseExecutionArn(arn: string): ExecutionArnParts | undefined {
  const match = executionArnPattern.exec(arn);
  if (match === null) return undefined;
  const [, region = '', accountId = '', stateMachineName = '', name = ''] = match;
  return { region, accountId, stateMachineName, name };
}

/** Whether `arn` is an IAM role ARN, `arn:aws:iam::<account>:role/<path/name>`. */
export function isRoleArn(arn: string): boolean {
  return roleArnPattern.test(arn);
}
