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
