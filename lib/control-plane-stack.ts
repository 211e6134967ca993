import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import { EnvNames } from '../domain/env.ts';
import { type GrecoConfig, readGrecoConfig } from './config.ts';
import { ApiAuth } from './constructs/api-auth.ts';
import { ArtifactsBucket } from './constructs/artifacts-bucket.ts';
import { ConfigTable } from './constructs/config-table.ts';
import { Deployments } from './constructs/deployments.ts';
import type { GrecoFunction } from './constructs/greco-function.ts';
import { ManagementApi, type ManagementHandlerName } from './constructs/management-api.ts';

/** Ids of the stack outputs: a contract with the CLI, the local cloud and docs/deploying.md. */
export const ControlPlaneOutputs = {
  apiUrl: 'ApiUrl',
  configTableName: 'ConfigTableName',
  artifactsBucketName: 'ArtifactsBucketName',
  jwtIssuer: 'JwtIssuer',
  snapshotsBucketName: 'SnapshotsBucketName',
  eventBusName: 'EventBusName',
  deploymentStateMachineArn: 'DeploymentStateMachineArn',
  /** Only when the stack created the Cognito user pool. */
  userPoolId: 'UserPoolId',
  /** Only when the stack created the Cognito user pool. */
  userPoolClientId: 'UserPoolClientId',
} as const;

/** Properties of {@link ControlPlaneStack}. */
export interface ControlPlaneStackProps extends StackProps {
  /**
   * greco's settings.
   * @default - read from the stack's CDK context by `readGrecoConfig` (cdk.json, `-c` overrides)
   */
  readonly config?: GrecoConfig;
}

/**
 * greco's control plane (management): the config table, the artifacts bucket, the JWT issuer
 * (a Cognito user pool unless an external issuer is configured) and the management HTTP API with
 * its handlers. Environment-agnostic: no account, region or physical name is fixed, so one
 * template deploys anywhere (the one physical name is the event bus `greco`, named by the design).
 * Deployments (lib/constructs/deployments.ts) add the state machine, the conductors, the event bus
 * and the snapshots bucket.
 */
export class ControlPlaneStack extends Stack {
  readonly config: GrecoConfig;
  readonly configTable: ConfigTable;
  readonly artifacts: ArtifactsBucket;
  readonly auth: ApiAuth;
  readonly managementApi: ManagementApi;
  /** The deployment state machine, conductors, event bus and snapshots bucket. */
  readonly deployments: Deployments;
  /** The DynamoDB config table (`configTable.table`). */
  readonly table: Table;
  /** The artifacts bucket for code zips (`artifacts.bucket`). */
  readonly artifactsBucket: Bucket;
  /** The management HTTP API (`managementApi.httpApi`). */
  readonly api: HttpApi;
  /** The management handlers by name (`managementApi.functions`). */
  readonly functions: Readonly<Record<ManagementHandlerName, GrecoFunction>>;

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps = {}) {
    super(scope, id, props);
    // Log delivery to the access-logs bucket by bucket policy, not ACL (the bucket enforces owner
    // ownership, which disables ACLs). Set here so the stack does not depend on cdk.json flags.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    this.config = props.config ?? readGrecoConfig(this.node);

    this.configTable = new ConfigTable(this, 'ConfigTable');
    this.table = this.configTable.table;
    this.artifacts = new ArtifactsBucket(this, 'Artifacts');
    this.artifactsBucket = this.artifacts.bucket;
    this.auth = new ApiAuth(this, 'Auth', { jwt: this.config.jwt });
    this.deployments = new Deployments(this, 'Deployments', {
      table: this.table,
      artifactsBucket: this.artifactsBucket,
      accessLogsBucket: this.artifacts.accessLogsBucket,
      managedPrefix: this.config.managedPrefix,
      workspaceClaim: this.config.workspaceClaim,
      rolesClaim: this.config.rolesClaim,
      twoPersonRule: this.config.twoPersonRule === true,
    });
    this.managementApi = new ManagementApi(this, 'ManagementApi', {
      table: this.table,
      artifactsBucket: this.artifactsBucket,
      jwtIssuer: this.auth.jwtIssuer,
      jwtAudience: this.auth.jwtAudience,
      managedPrefix: this.config.managedPrefix,
      workspaceClaim: this.config.workspaceClaim,
      rolesClaim: this.config.rolesClaim,
      deploymentsApi: this.deployments.apiFunction,
    });
    this.api = this.managementApi.httpApi;
    this.functions = this.managementApi.functions;
    // Drafts bound reservedConcurrency by the account's concurrency quota (docs/security.md, "Input bounds").
    this.functions['drafts-api'].function.addEnvironment(
      EnvNames.accountConcurrency,
      String(this.config.accountConcurrency),
    );

    new CfnOutput(this, ControlPlaneOutputs.apiUrl, {
      value: this.managementApi.stage.url,
      description: 'Base URL of the management API (append v1/...)',
    });
    new CfnOutput(this, ControlPlaneOutputs.configTableName, { value: this.table.tableName });
    new CfnOutput(this, ControlPlaneOutputs.artifactsBucketName, { value: this.artifactsBucket.bucketName });
    new CfnOutput(this, ControlPlaneOutputs.snapshotsBucketName, {
      value: this.deployments.snapshotsBucket.bucketName,
    });
    new CfnOutput(this, ControlPlaneOutputs.eventBusName, { value: this.deployments.eventBus.eventBusName });
    new CfnOutput(this, ControlPlaneOutputs.deploymentStateMachineArn, {
      value: this.deployments.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, ControlPlaneOutputs.jwtIssuer, {
      value: this.auth.jwtIssuer,
      description: 'Issuer (iss) of the JWTs the API accepts',
    });
    if (this.auth.userPool !== undefined && this.auth.userPoolClient !== undefined) {
      new CfnOutput(this, ControlPlaneOutputs.userPoolId, { value: this.auth.userPool.userPoolId });
      new CfnOutput(this, ControlPlaneOutputs.userPoolClientId, {
        value: this.auth.userPoolClient.userPoolClientId,
        description: 'App client id: the aud of ID tokens the API accepts',
      });
    }
  }
}
