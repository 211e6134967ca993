import { Stack, type Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Registers the cdk-nag AwsSolutions and Serverless rule packs on a whole app (or stage) through
 * CDK's policy-validation framework. Synthesis then fails on any finding, error or warning, that
 * is not acknowledged with `Validations.of(construct).acknowledge({ id, reason })` on the resource
 * (or an ancestor): cdk-nag 3 reports a pack as failed as soon as it has one violation left.
 *
 * @example
 * const app = new App();
 * addNagChecks(app);
 */
export function addNagChecks(stage: Stage): void {
  Validations.of(stage).addPlugins(
    new AwsSolutionsChecks(stage, { verbose: true }),
    new ServerlessChecks(stage, { verbose: true }),
  );
}

/**
 * The form in which cdk-nag names a token inside a finding id: `<LogicalId.Attribute>` for
 * `Fn::GetAtt`, `<LogicalId>` for `Ref`, joins flattened. Use it to acknowledge one exact
 * wildcard, e.g. `AwsSolutions-IAM5[Resource::${nagReference(this, bucket.bucketArn)}/code/*]`.
 */
export function nagReference(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

function flatten(node: unknown): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    const join = record['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map(flatten).join(join[0]);
    }
    const getAtt = record['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if ('Ref' in record) return `<${flatten(record.Ref)}>`;
  }
  return JSON.stringify(node);
}

/**
 * Reasons of findings acknowledged on several resources. One finding id has one reason across the
 * app (test/infra/nag.test.ts), so acknowledgements that recur use these.
 */
export const sharedNagReasons = {
  /** `AwsSolutions-IAM5[Resource::*]`. */
  wildcardResource:
    'Resource "*" only for actions that support no resource-level permissions (Service Authorization Reference): ' +
    'X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* of traced functions and state machines, CloudWatch Logs ' +
    'vended-log delivery of the state machine, and lambda:GetAccountSettings of the Lambda conductor. The state ' +
    "machine's logs:PutResourcePolicy/DescribeResourcePolicies/DescribeLogGroups are the statement CDK adds for " +
    'logging to CloudWatch Logs (Step Functions Developer Guide, "IAM policies for logging to CloudWatch Logs"): ' +
    'Step Functions sets up delivery to its log group with them, CloudWatch Logs asks for a log-group:* resource ' +
    'there, not one group, and resource policies it writes apply to AWS service principals only; the role is ' +
    'assumed by states.amazonaws.com for this account only and the definition calls no CloudWatch Logs API.',
  /** `Serverless-LambdaDLQ` on functions that are never invoked asynchronously. */
  synchronousInvocationOnly:
    'Invoked synchronously only (API Gateway Lambda proxy, a function URL, or Step Functions lambda:invoke), which ' +
    'handle errors themselves (HTTP error, Retry/Catch); a dead-letter queue only receives failed asynchronous ' +
    'invocations, which never happen here.',
  /** `AwsSolutions-IAM5[Resource::arn:...:function:<prefix>-*]`. */
  managedFunctions:
    'Managed data-plane functions are created at run time and named <prefix>-<workspace>-<name>: grants on them cover ' +
    'the managed name prefix, the one boundary known at deploy time, and no other function (the Lambda conductor ' +
    'manages them; the hot-path controller reads them and changes only their concurrency and greco:suspended tag).',
  /** `AwsSolutions-IAM5[Resource::<artifacts bucket>/code/*]`. */
  codeObjects:
    'Code zips are keyed code/<sha256>.zip and the hash is known only at run time: grants on zips cover the code/ ' +
    'prefix of the artifacts bucket and nothing else (drafts-api reads and writes them, the Lambda conductor reads them).',
  /** `AwsSolutions-IAM5[Resource::<snapshots bucket>/*]`. */
  snapshotObjects:
    'The snapshots bucket holds only epoch snapshots (snapshots/<workspace>/<epoch>.json) and markers ' +
    '(markers/<workspace>.json) of every workspace, named at run time: the deployment steps read and write them, the ' +
    'Lambda conductor reads them for the retention.',
} as const;
