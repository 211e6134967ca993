/**
 * Function names, qualifiers and ARNs as the Lambda API accepts and returns them.
 *
 * Accepted forms of a `FunctionName` parameter (Lambda API reference):
 * - name: `my-function`, or with a qualifier where the operation takes one: `my-function:v1`
 * - partial ARN: `123456789012:function:my-function[:qualifier]`
 * - full ARN: `arn:aws:lambda:us-west-2:123456789012:function:my-function[:qualifier]`
 */
import { invalidParameterValue, resourceNotFound, validationException } from './errors.ts';

/** Where the emulated account lives: its region and 12-digit account id. */
export interface AccountScope {
  readonly region: string;
  readonly accountId: string;
}

/** A parsed `FunctionName` parameter. */
export interface FunctionIdentifier {
  /** The bare function name, 1-64 characters of `[a-zA-Z0-9-_]`. */
  readonly name: string;
  /** Version number, `$LATEST` or alias name, when the identifier carried one. */
  readonly qualifier?: string;
}

/** Pattern of a qualifier: `$LATEST`, a version number or an alias name (1-128 characters). */
export const qualifierPattern = /^(\$LATEST|[a-zA-Z0-9_-]{1,128})$/;
/** Pattern of an alias name: not all digits (those are versions), 1-128 characters. */
export const aliasNamePattern = /^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$/;
/** Pattern of a published version number. */
export const versionPattern = /^[0-9]+$/;

/** The Lambda API's own pattern of a FunctionName parameter, quoted in its validation messages. */
const functionNameModelPattern =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';

const fullArn =
  /^arn:(aws[a-zA-Z-]*):lambda:([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):(\d{12}):function:([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;
const partialArn = /^(\d{12}):function:([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;
const plainName = /^([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;

/** The ARN partition of a region: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`. */
export function functionArn(scope: AccountScope, name: string, qualifier?: string): string {
  const base = `arn:${partitionOf(scope.region)}:lambda:${scope.region}:${scope.accountId}:function:${name}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}

/**
 * Parses a `FunctionName` (or tag `Resource`) parameter.
 *
 * @param member the parameter's model name for messages (`functionName`, `resource`)
 * @throws LambdaApiError ValidationException when the value matches no accepted form;
 *   ResourceNotFoundException when an ARN names another region or account (no such function here)
 */
export function parseFunctionIdentifier(
  value: string,
  scope: AccountScope,
  member = 'functionName',
): FunctionIdentifier {
  const full = fullArn.exec(value);
  if (full !== null) {
    const [, partition, region, accountId, name, qualifier] = full as unknown as [
      string,
      string,
      string,
      string,
      string,
      string | undefined,
    ];
    if (partition !== partitionOf(scope.region) || region !== scope.region || accountId !== scope.accountId) {
      throw resourceNotFound(`Function not found: ${value}`);
    }
    return qualifier === undefined ? { name } : { name, qualifier };
  }
  const partial = partialArn.exec(value);
  if (partial !== null) {
    const [, accountId, name, qualifier] = partial as unknown as [string, string, string, string | undefined];
    if (accountId !== scope.accountId) throw resourceNotFound(`Function not found: ${value}`);
    return qualifier === undefined ? { name } : { name, qualifier };
  }
  const plain = plainName.exec(value);
  if (plain !== null) {
    const [, name, qualifier] = plain as unknown as [string, string, string | undefined];
    return qualifier === undefined ? { name } : { name, qualifier };
  }
  throw validationException([
    `Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${functionNameModelPattern}`,
  ]);
}

/**
 * Combines the qualifier of a function identifier with a separate `Qualifier` parameter, as Lambda
 * does: both may be given only when they agree.
 *
 * @throws LambdaApiError InvalidParameterValueException when they differ
 */
export function mergeQualifier(id: FunctionIdentifier, qualifier: string | undefined): string | undefined {
  if (qualifier === undefined || qualifier === '') return id.qualifier;
  if (id.qualifier !== undefined && id.qualifier !== qualifier) {
    throw invalidParameterValue(
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  return qualifier;
}
