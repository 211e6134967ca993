import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Effect, Grant, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type Bucket, BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EnvNames } from '../../domain/env.ts';
import { defaultEventBusName } from '../../domain/events.ts';
import { ControlPlaneMetrics } from '../../domain/metrics.ts';
import {
  type ConductorDefinition,
  type ConductorResources,
  conductorRegistry,
  conductorsEnvironmentValue,
  conductorTimeout,
  defaultConductorRateLimit,
  handlerEntry,
  validateConductorRegistry,
} from '../conductors.ts';
import { DataPlaneBoundary } from '../managed-functions-iam.ts';
import { nagReference, sharedNagReasons } from '../nag.ts';
import { dataBucket } from './data-bucket.ts';
import { GrecoFunction } from './greco-function.ts';

/** The deployment state machine's definition: Amazon States Language, JSONPath. */
export const deploymentDefinitionPath = fileURLToPath(
  new URL('../../statemachines/deployment.asl.json', import.meta.url),
);

/** Name of the definition substitution that carries the deployment steps function's ARN. */
export const stepsFunctionArnSubstitution = 'DeploymentStepsFunctionArn';

/**
 * Timeout of the deployment steps, under the 120 s `TimeoutSeconds` of their tasks in the state
 * machine. The longest step writes a 5,000-function snapshot: a few hundred batched writes.
 */
export const deploymentStepsTimeout = Duration.seconds(90);

/** How long the state machine's execution logs are kept. */
export const stateMachineLogRetention = RetentionDays.THREE_MONTHS;

/**
 * Days a noncurrent version of a snapshots-bucket object is kept. Snapshots are written once;
 * the marker is overwritten at every commit, so its history of the last 90 days stays readable.
 */
export const snapshotNoncurrentRetentionDays = 90;

/** Properties of {@link Deployments}. */
export interface DeploymentsProps {
  /** The config table: deployment records, change sets, progress, epochs. */
  readonly table: ITable;
  /** The code zips, `code/<sha256>.zip`: read by conductors. */
  readonly artifactsBucket: IBucket;
  /** Receives the snapshots bucket's server access logs, under `snapshots/`. */
  readonly accessLogsBucket: IBucket;
  /** Prefix of managed data-plane function names: conductors may touch only `<prefix>-*`. */
  readonly managedPrefix: string;
  /** JWT claim carrying the workspace id, passed to the deployments API. */
  readonly workspaceClaim: string;
  /** JWT claim carrying the roles, passed to the deployments API. */
  readonly rolesClaim: string;
  /**
   * The Lambda conductor's own Lambda API rate, in requests per second, 1..15 (the account's
   * control-plane quota is 15/s, shared with the hot path).
   * @default - {@link defaultConductorRateLimit} (10)
   */
  readonly conductorRateLimit?: number;
  /**
   * The two-person rule: the deployments API refuses (403) a deployment whose approver is the
   * draft's last editor.
   * @default false
   */
  readonly twoPersonRule?: boolean;
  /**
   * The conductors a deployment runs.
   * @default - {@link conductorRegistry} (the Lambda conductor)
   */
  readonly conductors?: readonly ConductorDefinition[];
}

/**
 * Deployments, "make it so" (docs/deployments.md): the Standard state machine of
 * statemachines/deployment.asl.json with its execution logs (level ALL) and X-Ray tracing; the
 * deployment-steps function it invokes for begin, decide, write-epoch and the finishes; one
 * function per registered conductor (15 min timeout, work in batches); the deployments API handler
 * (served by the management API's routes); the EventBridge bus `greco`; the snapshots bucket for
 * epoch snapshots and markers; and the execution role of data-plane functions (logs only).
 *
 * The bus is the one physical name here: `greco` is named by the design (DESIGN.md, "Shape") as the
 * bus consumers subscribe to, and the hot path publishes to it by that name from another stack.
 *
 * Permissions: the steps read and write the table, read and put snapshots, put events on the bus;
 * the API reads and writes the table, starts executions of this state machine and describes them;
 * each conductor gets what its registry entry grants (lib/conductors.ts).
 */
export class Deployments extends Construct {
  readonly stateMachine: StateMachine;
  readonly stateMachineLogGroup: LogGroup;
  readonly eventBus: EventBus;
  readonly snapshotsBucket: Bucket;
  /** The execution role of every managed data-plane function: writes its logs, nothing else. */
  readonly dataPlaneRole: Role;
  /**
   * The permissions boundary of the per-workspace execution roles that replace `dataPlaneRole`
   * (domain/data-plane-roles.ts): workspace log groups only. The conductor gets the right to create
   * roles with it (`grantWorkspaceRoles`) together with the code that creates them.
   */
  readonly dataPlaneBoundary: DataPlaneBoundary;
  readonly stepsFunction: GrecoFunction;
  readonly apiFunction: GrecoFunction;
  /** Conductor functions by registry name. */
  readonly conductorFunctions: Readonly<Record<string, GrecoFunction>>;

  constructor(scope: Construct, id: string, props: DeploymentsProps) {
    super(scope, id);
    const conductorRateLimit = props.conductorRateLimit ?? defaultConductorRateLimit;
    if (!Number.isFinite(conductorRateLimit) || conductorRateLimit <= 0 || conductorRateLimit > 15) {
      throw new Error(
        `conductorRateLimit must be above 0 and at most 15 requests per second, got ${conductorRateLimit}`,
      );
    }
    const registry = props.conductors ?? conductorRegistry;
    validateConductorRegistry(registry);
    const stack = Stack.of(this);

    this.eventBus = new EventBus(this, 'EventBus', {
      eventBusName: defaultEventBusName,
      description: 'greco: every deployment and hot-path state change (docs/events.md)',
    });

    this.snapshotsBucket = dataBucket(this, 'Snapshots', {
      accessLogsBucket: props.accessLogsBucket,
      accessLogsPrefix: 'snapshots/',
      noncurrentVersionRetentionDays: snapshotNoncurrentRetentionDays,
    });

    const functionLogs = Arn.format(
      {
        service: 'logs',
        resource: 'log-group',
        resourceName: `/aws/lambda/${props.managedPrefix}-*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      },
      stack,
    );
    this.dataPlaneRole = new Role(this, 'DataPlaneRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of greco-managed data-plane functions (${props.managedPrefix}-*): logs only`,
      inlinePolicies: {
        logs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              effect: Effect.ALLOW,
              actions: ['logs:CreateLogGroup'],
              resources: [functionLogs],
            }),
            new PolicyStatement({
              effect: Effect.ALLOW,
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [`${functionLogs}:*`],
            }),
          ],
        }),
      },
    });
    Validations.of(this.dataPlaneRole).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/${props.managedPrefix}-*]`,
        reason:
          'Data-plane functions are created at run time by the conductor, one log group /aws/lambda/<name> each: the grant ' +
          'covers the log groups of managed functions only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/${props.managedPrefix}-*:*]`,
        reason: 'Log streams of the managed functions log groups only (CreateLogStream, PutLogEvents).',
      },
    );

    this.dataPlaneBoundary = new DataPlaneBoundary(this, 'DataPlaneBoundary', {
      managedPrefix: props.managedPrefix,
    });

    const resources: ConductorResources = {
      table: props.table,
      artifactsBucket: props.artifactsBucket,
      snapshotsBucket: this.snapshotsBucket,
      dataPlaneRole: this.dataPlaneRole,
      dataPlaneBoundary: this.dataPlaneBoundary,
      managedPrefix: props.managedPrefix,
      conductorRateLimit,
    };
    const conductorFunctions: Record<string, GrecoFunction> = {};
    for (const conductor of registry) {
      const fn = new GrecoFunction(this, `${pascalCase(conductor.name)}Conductor`, {
        entry: handlerEntry(conductor.handler),
        serviceName: conductor.handler,
        metricsNamespace: ControlPlaneMetrics.namespace,
        description: conductor.description,
        memoryMiB: conductor.memoryMiB,
        timeout: conductorTimeout,
        environment: { [EnvNames.configTable]: props.table.tableName, ...conductor.environment(resources) },
      });
      conductor.configure(fn, resources);
      conductorFunctions[conductor.name] = fn;
    }
    this.conductorFunctions = conductorFunctions;

    this.stepsFunction = new GrecoFunction(this, 'Steps', {
      entry: handlerEntry('deployment-steps'),
      serviceName: 'deployment-steps',
      metricsNamespace: ControlPlaneMetrics.namespace,
      description: 'greco deployment steps: begin, decide, write-epoch and the finishes of a deployment',
      timeout: deploymentStepsTimeout,
      environment: {
        [EnvNames.configTable]: props.table.tableName,
        [EnvNames.snapshotsBucket]: this.snapshotsBucket.bucketName,
        [EnvNames.eventBusName]: this.eventBus.eventBusName,
        [EnvNames.managedPrefix]: props.managedPrefix,
        [EnvNames.conductors]: conductorsEnvironmentValue(
          this,
          registry.map((conductor) => ({
            name: conductor.name,
            functionArn: (conductorFunctions[conductor.name] as GrecoFunction).function.functionArn,
          })),
        ),
      },
    });
    props.table.grantReadWriteData(this.stepsFunction.function);
    BucketGrants.fromBucket(this.snapshotsBucket).actionsOnObjectKeys(
      this.stepsFunction.function,
      '*',
      's3:GetObject',
      's3:PutObject',
    );
    // ListBucket makes a missing marker answer 404 rather than 403 (S3 API Reference, GetObject).
    Grant.addToPrincipal({
      grantee: this.stepsFunction.function,
      actions: ['s3:ListBucket'],
      resourceArns: [this.snapshotsBucket.bucketArn],
    });
    this.eventBus.grantPutEventsTo(this.stepsFunction.function);
    Validations.of(this.stepsFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagReference(this, this.snapshotsBucket.bucketArn)}/*]`,
      reason: sharedNagReasons.snapshotObjects,
    });

    this.stateMachineLogGroup = new LogGroup(this, 'StateMachineLogs', {
      retention: stateMachineLogRetention,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: 'greco deployment: two-phase commit of a frozen draft (docs/deployments.md)',
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromFile(deploymentDefinitionPath),
      definitionSubstitutions: { [stepsFunctionArnSubstitution]: this.stepsFunction.function.functionArn },
      logs: { destination: this.stateMachineLogGroup, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    const invokeAcks: { id: string; reason: string }[] = [];
    for (const fn of [this.stepsFunction, ...Object.values(conductorFunctions)]) {
      fn.function.grantInvoke(this.stateMachine);
      invokeAcks.push({
        id: `AwsSolutions-IAM5[Resource::${nagReference(this, fn.function.functionArn)}:*]`,
        reason:
          `grantInvoke on ${fn.node.id} covers that one function and its qualified ARNs (function:<name>:<qualifier>); ` +
          'the state machine invokes only the unqualified function.',
      });
    }
    Validations.of(this.stateMachine.role).acknowledge(...invokeAcks, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: sharedNagReasons.wildcardResource,
    });

    this.apiFunction = new GrecoFunction(this, 'Api', {
      entry: handlerEntry('deployments-api'),
      serviceName: 'deployments-api',
      metricsNamespace: ControlPlaneMetrics.namespace,
      description: 'greco management API: /v1/deployments, make a draft live',
      environment: {
        [EnvNames.configTable]: props.table.tableName,
        [EnvNames.managedPrefix]: props.managedPrefix,
        [EnvNames.workspaceClaim]: props.workspaceClaim,
        [EnvNames.rolesClaim]: props.rolesClaim,
        [EnvNames.deploymentStateMachineArn]: this.stateMachine.stateMachineArn,
        ...(props.twoPersonRule === true ? { [EnvNames.twoPersonRule]: 'true' } : {}),
      },
    });
    props.table.grantReadWriteData(this.apiFunction.function);
    this.stateMachine.grantStartExecution(this.apiFunction.function);
    this.stateMachine.grantExecution(this.apiFunction.function, 'states:DescribeExecution');
    Validations.of(this.apiFunction.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${executionsArnForNag(this, this.stateMachine)}]`,
      reason:
        'DescribeExecution on the executions of the deployment state machine only: execution names are deployment ids, ' +
        'known at run time.',
    });

    for (const fn of [this.stepsFunction, ...Object.values(conductorFunctions)]) {
      Validations.of(fn.function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: sharedNagReasons.synchronousInvocationOnly,
      });
    }
  }
}

/** `lambda` → `Lambda`, `my-cloud` → `MyCloud`: construct ids from registry names. */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * How cdk-nag names the resource of `grantExecution`: the executions of `stateMachine`,
 * `arn:<partition>:states:<region>:<account>:execution:<name>:*`, with the name split out of the ARN.
 */
function executionsArnForNag(scope: Construct, stateMachine: StateMachine): string {
  const stack = Stack.of(scope);
  const name = stack.splitArn(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
  const arn = Arn.format(
    {
      service: 'states',
      resource: 'execution',
      resourceName: `${name}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    stack,
  );
  return nagReference(scope, arn);
}
