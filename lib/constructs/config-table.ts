import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { configTableKeys } from '../../core/store/table.ts';

/**
 * greco's DynamoDB config table: drafts, snapshots, live heads and the audit trail, in one table
 * keyed `pk`/`sk` (strings), with TTL on `expiresAt`: core/store/table.ts `configTableKeys`, the
 * same schema the store's tests and the local cloud create.
 *
 * On-demand billing (no capacity planning), point-in-time recovery (35 days of restore points),
 * deletion protection, encryption at rest with the AWS-managed key `aws/dynamodb` (auditable in
 * CloudTrail, no key policy or grants to manage; a customer-managed key would add key grants to
 * every reader), and `RemovalPolicy.RETAIN`: deleting the stack never deletes the model.
 * No physical name: CloudFormation names it, so the stack deploys to any account and region.
 */
export class ConfigTable extends Construct {
  /** The AWS::DynamoDB::Table. Grant access with `table.grantReadData(fn)` / `grantReadWriteData(fn)`. */
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: configTableKeys.partitionKey, type: AttributeType.STRING },
      sortKey: { name: configTableKeys.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: configTableKeys.timeToLiveAttribute,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
