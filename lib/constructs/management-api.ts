import { fileURLToPath } from 'node:url';
import { Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BucketGrants, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { uploadKeyPrefix } from '../../core/artifacts.ts';
import { EnvNames } from '../../domain/env.ts';
import { ControlPlaneMetrics } from '../../domain/metrics.ts';
import { nagReference, sharedNagReasons } from '../nag.ts';
import { codeKeyPrefix } from './artifacts-bucket.ts';
import { GrecoFunction } from './greco-function.ts';

/** The management handlers, one per route group: a folder under `lambdas/`. */
export type ManagementHandlerName = 'functions-api' | 'drafts-api' | 'audit-api' | 'deployments-api';

/** One route of the management API: `method path` is the HTTP API route key. */
export interface ManagementRoute {
  readonly method: HttpMethod;
  /** HTTP API path with `{param}` placeholders, e.g. `/v1/drafts/{id}`. */
  readonly path: string;
  readonly handler: ManagementHandlerName;
}

/** Every route of the management API v1, and the handler that serves it. */
export const managementRoutes: readonly ManagementRoute[] = [
  { method: HttpMethod.GET, path: '/v1/functions', handler: 'functions-api' },
  { method: HttpMethod.GET, path: '/v1/functions/{name}', handler: 'functions-api' },
  { method: HttpMethod.GET, path: '/v1/openapi.json', handler: 'functions-api' },
  { method: HttpMethod.POST, path: '/v1/drafts', handler: 'drafts-api' },
  { method: HttpMethod.GET, path: '/v1/drafts', handler: 'drafts-api' },
  { method: HttpMethod.GET, path: '/v1/drafts/{id}', handler: 'drafts-api' },
  { method: HttpMethod.PUT, path: '/v1/drafts/{id}', handler: 'drafts-api' },
  { method: HttpMethod.DELETE, path: '/v1/drafts/{id}', handler: 'drafts-api' },
  { method: HttpMethod.PUT, path: '/v1/drafts/{id}/functions/{name}', handler: 'drafts-api' },
  { method: HttpMethod.DELETE, path: '/v1/drafts/{id}/functions/{name}', handler: 'drafts-api' },
  { method: HttpMethod.GET, path: '/v1/drafts/{id}/plan', handler: 'drafts-api' },
  { method: HttpMethod.POST, path: '/v1/drafts/{id}/rebase', handler: 'drafts-api' },
  { method: HttpMethod.POST, path: '/v1/artifacts', handler: 'drafts-api' },
  { method: HttpMethod.GET, path: '/v1/audit', handler: 'audit-api' },
  { method: HttpMethod.POST, path: '/v1/drafts/{id}/deployments', handler: 'deployments-api' },
  { method: HttpMethod.GET, path: '/v1/deployments', handler: 'deployments-api' },
  { method: HttpMethod.GET, path: '/v1/deployments/{id}', handler: 'deployments-api' },
];

/**
 * Default-stage throttling, in requests per second (steady) and requests (burst). Well under the
 * account-level API Gateway quota of 10,000 rps / 5,000 burst per Region (API Gateway quotas,
 * "Throttle quota per account, per Region across HTTP APIs..."), so one noisy client cannot take the
 * whole account's budget; ample for a management API used by people and CI.
 */
export const managementApiThrottle = { rateLimit: 50, burstLimit: 100 } as const;

/** How long API access logs are kept. */
export const accessLogRetention = RetentionDays.THREE_MONTHS;

/** Access log line: one JSON object per request (HTTP API `$context` variables). */
const accessLogFields = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  sub: '$context.authorizer.claims.sub',
  authorizerError: '$context.authorizer.error',
  integrationError: '$context.integrationErrorMessage',
  integrationLatencyMs: '$context.integrationLatency',
  responseLatencyMs: '$context.responseLatency',
  responseLength: '$context.responseLength',
} as const;

/** Properties of {@link ManagementApi}. */
export interface ManagementApiProps {
  /** The config table: read by every handler, written by drafts-api. */
  readonly table: ITable;
  /** The artifacts bucket: drafts-api reads and writes `code/*` and the presigned uploads `uploads/*`. */
  readonly artifactsBucket: IBucket;
  /** Issuer URL of accepted JWTs (`iss`), `https://...`. */
  readonly jwtIssuer: string;
  /** Accepted audiences (`aud`, or `client_id` of access tokens), 1..50. */
  readonly jwtAudience: readonly string[];
  /** Prefix of managed data-plane function names, passed to handlers. */
  readonly managedPrefix: string;
  /** JWT claim carrying the workspace id, passed to handlers. */
  readonly workspaceClaim: string;
  /** JWT claim carrying the roles, passed to handlers. */
  readonly rolesClaim: string;
  /**
   * The deployments API handler (lambdas/deployments-api), built with its state machine by the
   * `Deployments` construct; this API routes `/v1/drafts/{id}/deployments` and `/v1/deployments` to it.
   */
  readonly deploymentsApi: GrecoFunction;
}

/**
 * greco's management API: an API Gateway HTTP API whose every route requires a JWT (the JWT
 * authorizer is the API's default authorizer), a `$default` stage with JSON access logs and
 * throttling ({@link managementApiThrottle}), and the three middy handlers of
 * {@link managementRoutes} as Lambda proxy integrations (payload format 2.0).
 *
 * Permissions, all by `grantXxx`: functions-api and audit-api read the table; drafts-api reads and
 * writes the table, gets and puts objects under `code/*` in the artifacts bucket and lists it, and
 * signs uploads to, reads and deletes the staging objects under `uploads/*` (`POST /v1/artifacts`).
 */
export class ManagementApi extends Construct {
  readonly httpApi: HttpApi;
  /** The `$default` stage; `stage.url` is the API's base URL (ends with `/`). */
  readonly stage: HttpStage;
  readonly authorizer: HttpJwtAuthorizer;
  readonly accessLogGroup: LogGroup;
  /** The handlers, by name. */
  readonly functions: Readonly<Record<ManagementHandlerName, GrecoFunction>>;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    if (props.jwtAudience.length === 0)
      throw new Error('jwtAudience must list at least one audience, got []');

    const common = {
      [EnvNames.configTable]: props.table.tableName,
      [EnvNames.managedPrefix]: props.managedPrefix,
      [EnvNames.workspaceClaim]: props.workspaceClaim,
      [EnvNames.rolesClaim]: props.rolesClaim,
    };
    const functionsApi = new GrecoFunction(this, 'FunctionsApi', {
      entry: handlerEntry('functions-api'),
      serviceName: 'functions-api',
      metricsNamespace: ControlPlaneMetrics.namespace,
      description: 'greco management API: GET /v1/functions, the live model',
      environment: common,
    });
    const draftsApi = new GrecoFunction(this, 'DraftsApi', {
      entry: handlerEntry('drafts-api'),
      serviceName: 'drafts-api',
      metricsNamespace: ControlPlaneMetrics.namespace,
      description: 'greco management API: /v1/drafts, drafts and plans',
      environment: { ...common, [EnvNames.artifactsBucket]: props.artifactsBucket.bucketName },
    });
    const auditApi = new GrecoFunction(this, 'AuditApi', {
      entry: handlerEntry('audit-api'),
      serviceName: 'audit-api',
      metricsNamespace: ControlPlaneMetrics.namespace,
      description: 'greco management API: GET /v1/audit, the audit trail',
      environment: common,
    });
    this.functions = {
      'functions-api': functionsApi,
      'drafts-api': draftsApi,
      'audit-api': auditApi,
      'deployments-api': props.deploymentsApi,
    };
    for (const handler of Object.values(this.functions)) {
      Validations.of(handler.function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: sharedNagReasons.synchronousInvocationOnly,
      });
    }

    props.table.grantReadData(functionsApi.function);
    props.table.grantReadData(auditApi.function);
    props.table.grantReadWriteData(draftsApi.function);
    const codeObjects = `${codeKeyPrefix}*`;
    BucketGrants.fromBucket(props.artifactsBucket).actionsOnObjectKeys(
      draftsApi.function,
      codeObjects,
      's3:GetObject',
      's3:PutObject',
    );
    // Presigned uploads: the URL carries drafts-api's own PutObject right on the staging prefix;
    // the first spec that uses an upload reads it, promotes it to code/ and deletes it.
    const uploadObjects = `${uploadKeyPrefix}*`;
    BucketGrants.fromBucket(props.artifactsBucket).actionsOnObjectKeys(
      draftsApi.function,
      uploadObjects,
      's3:PutObject',
      's3:GetObject',
      's3:DeleteObject',
    );
    // ListBucket makes HeadObject/GetObject on a missing key answer 404 instead of 403 (S3 API Reference, HeadObject).
    Grant.addToPrincipal({
      grantee: draftsApi.function,
      actions: ['s3:ListBucket'],
      resourceArns: [props.artifactsBucket.bucketArn],
    });
    Validations.of(draftsApi.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagReference(this, props.artifactsBucket.bucketArn)}/${codeObjects}]`,
      reason: sharedNagReasons.codeObjects,
    });
    Validations.of(draftsApi.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagReference(this, props.artifactsBucket.bucketArn)}/${uploadObjects}]`,
      reason:
        'Presigned uploads are keyed uploads/<workspace>/<sha256>.zip and both are known only at run time: the grant covers the uploads/ prefix only',
    });

    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      jwtAudience: [...props.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'greco management API (v1)',
      defaultAuthorizer: this.authorizer,
      createDefaultStage: false,
    });
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: accessLogRetention });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { ...managementApiThrottle },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });

    const integrations = {
      'functions-api': new HttpLambdaIntegration('FunctionsApiIntegration', functionsApi.function),
      'drafts-api': new HttpLambdaIntegration('DraftsApiIntegration', draftsApi.function),
      'audit-api': new HttpLambdaIntegration('AuditApiIntegration', auditApi.function),
      'deployments-api': new HttpLambdaIntegration(
        'DeploymentsApiIntegration',
        props.deploymentsApi.function,
      ),
    } as const;
    for (const route of managementRoutes) {
      this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method],
        integration: integrations[route.handler],
      });
    }
  }
}

/** Absolute path of a management handler's entry, `lambdas/<name>/index.ts`. */
function handlerEntry(name: Exclude<ManagementHandlerName, 'deployments-api'>): string {
  return fileURLToPath(new URL(`../../lambdas/${name}/index.ts`, import.meta.url));
}
