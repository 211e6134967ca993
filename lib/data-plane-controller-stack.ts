import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type FunctionUrl, FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { defaultRolesClaim, defaultWorkspaceClaim, EnvNames } from '../domain/env.ts';
import { defaultEventBusName } from '../domain/events.ts';
import { HotPathMetrics } from '../domain/metrics.ts';
import { defaultManagedPrefix, managedPrefixPattern, maxManagedPrefixLength } from '../domain/names.ts';
import { GrecoTags } from '../domain/tags.ts';
import { maxJwtAudiences } from './config.ts';
import { GrecoFunction } from './constructs/greco-function.ts';
import { managedFunctionCondition } from './managed-functions-iam.ts';
import { nagReference, sharedNagReasons } from './nag.ts';

/** Ids of the stack outputs: a contract with the CLI, the local cloud and the docs. */
export const DataPlaneControllerOutputs = {
  /** The controller's function URL (ends with `/`); append `v1/functions/{name}`. */
  controllerUrl: 'ControllerUrl',
} as const;

/**
 * The Lambda API actions the controller may call, and nothing else. Reads: `GetFunction` returns a
 * function's tags only with `lambda:ListTags` (Lambda Developer Guide, "Using tags on Lambda
 * functions"); they cover every function of the managed prefix, so that one greco does not manage
 * answers 404. Writes: concurrency, and the `greco:suspended` tag, only on functions tagged
 * `greco:managed=true` (`aws:ResourceTag`, lib/managed-functions-iam.ts).
 */
export const controllerLambdaActions = {
  read: [
    'lambda:GetFunction',
    'lambda:GetFunctionConfiguration',
    'lambda:GetFunctionConcurrency',
    'lambda:ListTags',
  ],
  concurrency: ['lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency'],
  tags: ['lambda:TagResource', 'lambda:UntagResource'],
} as const;

/**
 * Timeout of the controller. A verb makes 2 to 4 Lambda API calls (more only while another writer
 * changes the same function); each is retried for at most 3 s when throttled (hotpath/retry.ts)
 * and the first one that runs out fails the verb with 503. 15 s covers four calls that each
 * succeed at their deadline, plus a cold start.
 */
export const controllerTimeout = Duration.seconds(15);

/** Memory of the controller in MiB: more memory is more CPU, hence a faster cold start and TLS. */
export const controllerMemoryMiB = 512;

/**
 * p99 duration above which the controller alarms, in milliseconds. A verb is 2 to 5 Lambda API
 * calls of tens of milliseconds each; a p99 of 2 s means calls are being throttled and retried
 * (the retry deadline is 3 s per call).
 */
export const durationP99ThresholdMs = 2000;

/** Properties of {@link DataPlaneControllerStack}. */
export interface DataPlaneControllerStackProps extends StackProps {
  /**
   * Prefix of managed function names (`<prefix>-<workspace>-<name>`): the controller may act only on
   * functions named `<prefix>-*`. Lowercase letters and digits, starting with a letter, 1..16.
   * @default 'greco'
   */
  readonly managedPrefix?: string;
  /**
   * Issuer (`iss`) of accepted tokens, e.g. `https://cognito-idp.<region>.amazonaws.com/<poolId>`.
   * Pass a plain value rather than another stack's export, so that this stack deploys, updates and
   * is destroyed independently of the control plane.
   */
  readonly jwtIssuer: string;
  /** Accepted audiences (`aud`, or `client_id` of access tokens): 1..50 values. */
  readonly jwtAudience: readonly string[];
  /**
   * URL of the issuer's key set.
   * @default - `<jwtIssuer>/.well-known/jwks.json` (Cognito's)
   */
  readonly jwksUrl?: string;
  /**
   * Claim carrying the caller's workspace.
   * @default 'custom:workspace'
   */
  readonly workspaceClaim?: string;
  /**
   * Claim carrying the caller's roles.
   * @default 'cognito:groups'
   */
  readonly rolesClaim?: string;
  /**
   * Name of the EventBridge bus that receives `Function Suspended` / `Function Started`. It need not
   * exist: publishing is best effort.
   * @default 'greco'
   */
  readonly eventBusName?: string;
}

/** EventBridge bus names: 1..256 of `[/.\-_A-Za-z0-9]` (EventBridge API Reference, CreateEventBus). */
const eventBusNamePattern = /^[/.\-_A-Za-z0-9]{1,256}$/;

/**
 * greco's data-plane controller (the hot path): start, suspend and state of managed functions,
 * apart from the control plane so that a control-plane outage, upgrade or deletion cannot take it
 * down. It holds one Lambda function behind its own function URL, its log group and alarms, and
 * has no access to the control plane's table, buckets, state machine or API.
 *
 * The function URL has AuthType NONE: the controller verifies every bearer token itself (jose,
 * issuer keys cached per container), as API Gateway's JWT authorizer does for the management API,
 * and answers 401 before touching anything.
 *
 * No custom resources: the log group is explicit, the URL and its permissions are plain
 * CloudFormation resources.
 */
export class DataPlaneControllerStack extends Stack {
  readonly controller: GrecoFunction;
  readonly functionUrl: FunctionUrl;
  /** `Errors` ≥ 1 in a minute: the handler never throws, so any error is a crash or a timeout. */
  readonly errorsAlarm: Alarm;
  /** The function URL answered 5xx (Lambda API unavailable past the retry deadline, or a bug). */
  readonly serverErrorsAlarm: Alarm;
  /** `Throttles` ≥ 1 in a minute: the account's concurrency ran out for the controller itself. */
  readonly throttlesAlarm: Alarm;
  /** p99 `Duration` above {@link durationP99ThresholdMs} for 3 of 5 minutes. */
  readonly durationAlarm: Alarm;
  /** Events could not be published (best effort: verbs still succeeded). */
  readonly eventPublishFailuresAlarm: Alarm;

  constructor(scope: Construct, id: string, props: DataPlaneControllerStackProps) {
    super(scope, id, props);
    const managedPrefix = props.managedPrefix ?? defaultManagedPrefix;
    const eventBusName = props.eventBusName ?? defaultEventBusName;
    validateProps(props, managedPrefix, eventBusName);

    this.controller = new GrecoFunction(this, 'Controller', {
      entry: fileURLToPath(new URL('../lambdas/hotpath-controller/index.ts', import.meta.url)),
      serviceName: 'hotpath-controller',
      description: 'greco hot path: start, suspend and state of managed functions',
      memoryMiB: controllerMemoryMiB,
      timeout: controllerTimeout,
      environment: {
        [EnvNames.managedPrefix]: managedPrefix,
        [EnvNames.jwtIssuer]: props.jwtIssuer,
        [EnvNames.jwtAudience]: props.jwtAudience.join(','),
        [EnvNames.workspaceClaim]: props.workspaceClaim ?? defaultWorkspaceClaim,
        [EnvNames.rolesClaim]: props.rolesClaim ?? defaultRolesClaim,
        [EnvNames.eventBusName]: eventBusName,
        ...(props.jwksUrl === undefined ? {} : { [EnvNames.jwksUrl]: props.jwksUrl }),
      },
    });
    const fn = this.controller.function;
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: sharedNagReasons.synchronousInvocationOnly,
    });

    this.functionUrl = fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });

    const managedFunctions = this.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: `${managedPrefix}-*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadManagedFunctions',
        effect: Effect.ALLOW,
        actions: [...controllerLambdaActions.read],
        resources: [managedFunctions],
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'SetConcurrencyOfManagedFunctions',
        effect: Effect.ALLOW,
        actions: [...controllerLambdaActions.concurrency],
        resources: [managedFunctions],
        conditions: managedFunctionCondition,
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'TagManagedFunctionsSuspended',
        effect: Effect.ALLOW,
        actions: [...controllerLambdaActions.tags],
        resources: [managedFunctions],
        // Only the suspended tag: the controller can neither adopt a function (greco:managed), move it
        // to another workspace (greco:workspace) nor change what start restores (greco:reserved-concurrency).
        // And only on managed functions: it cannot suspend a function greco does not manage.
        conditions: {
          ...managedFunctionCondition,
          'ForAllValues:StringEquals': { 'aws:TagKeys': [GrecoTags.suspended] },
        },
      }),
    );
    fn.addToRolePolicy(
      new PolicyStatement({
        sid: 'PublishHotPathEvents',
        effect: Effect.ALLOW,
        actions: ['events:PutEvents'],
        resources: [
          this.formatArn({
            service: 'events',
            resource: 'event-bus',
            resourceName: eventBusName,
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        ],
      }),
    );
    Validations.of(this.controller.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagReference(this, managedFunctions)}]`,
      reason: sharedNagReasons.managedFunctions,
    });

    const alarm = (
      alarmId: string,
      metric: IMetric,
      threshold: number,
      description: string,
      evaluationPeriods = 1,
      datapointsToAlarm = 1,
    ) =>
      new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    const oneMinute = Duration.minutes(1);
    this.errorsAlarm = alarm(
      'ErrorsAlarm',
      fn.metricErrors({ period: oneMinute, statistic: 'Sum' }),
      1,
      'greco hot path: the controller crashed or timed out (it answers every handled failure itself)',
    );
    this.serverErrorsAlarm = alarm(
      'ServerErrorsAlarm',
      new Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Url5xxCount',
        dimensionsMap: { FunctionName: fn.functionName },
        period: oneMinute,
        statistic: 'Sum',
      }),
      5,
      'greco hot path: 5 or more start/suspend/state requests failed with 5xx in a minute (Lambda API unavailable or a bug)',
    );
    this.throttlesAlarm = alarm(
      'ThrottlesAlarm',
      fn.metricThrottles({ period: oneMinute, statistic: 'Sum' }),
      1,
      'greco hot path: invocations of the controller were throttled (account concurrency exhausted)',
    );
    this.durationAlarm = alarm(
      'DurationP99Alarm',
      fn.metricDuration({ period: oneMinute, statistic: 'p99' }),
      durationP99ThresholdMs,
      `greco hot path: p99 duration above ${durationP99ThresholdMs} ms for 3 of 5 minutes (Lambda API throttling or slowness)`,
      5,
      3,
    );
    this.eventPublishFailuresAlarm = alarm(
      'EventPublishFailuresAlarm',
      new MathExpression({
        expression: 'FILL(failures, 0)',
        usingMetrics: {
          failures: new Metric({
            namespace: HotPathMetrics.namespace,
            metricName: HotPathMetrics.eventPublishFailures,
            period: Duration.minutes(5),
            statistic: 'Sum',
          }),
        },
        period: Duration.minutes(5),
        label: HotPathMetrics.eventPublishFailures,
      }),
      1,
      'greco hot path: Function Suspended / Function Started events could not be published (verbs still succeeded)',
    );

    new CfnOutput(this, DataPlaneControllerOutputs.controllerUrl, {
      value: this.functionUrl.url,
      description: 'Base URL of the hot-path controller (append v1/functions/{name}[/start|/suspend])',
    });
  }
}

function validateProps(
  props: DataPlaneControllerStackProps,
  managedPrefix: string,
  eventBusName: string,
): void {
  if (!Token.isUnresolved(managedPrefix) && !managedPrefixPattern.test(managedPrefix)) {
    throw new Error(
      `managedPrefix must be 1 to ${maxManagedPrefixLength} lowercase letters or digits starting with a letter, got ${JSON.stringify(managedPrefix)}`,
    );
  }
  if (!Token.isUnresolved(props.jwtIssuer) && !/^https?:\/\/\S+$/.test(props.jwtIssuer)) {
    throw new Error(`jwtIssuer must be an http(s) URL, got ${JSON.stringify(props.jwtIssuer)}`);
  }
  if (props.jwtAudience.length === 0 || props.jwtAudience.length > maxJwtAudiences) {
    throw new Error(
      `jwtAudience must list 1 to ${maxJwtAudiences} audiences, got ${props.jwtAudience.length}`,
    );
  }
  for (const audience of props.jwtAudience) {
    if (!Token.isUnresolved(audience) && (audience.trim() === '' || audience.includes(','))) {
      throw new Error(
        `jwtAudience values must be non-empty and contain no comma, got ${JSON.stringify(audience)}`,
      );
    }
  }
  if (!Token.isUnresolved(eventBusName) && !eventBusNamePattern.test(eventBusName)) {
    throw new Error(
      `eventBusName must be 1 to 256 of letters, digits and / . - _, got ${JSON.stringify(eventBusName)}`,
    );
  }
}
