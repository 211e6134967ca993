import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import { controlPlaneStackId } from '../../lib/app.ts';
import { managementApiThrottle, managementRoutes } from '../../lib/constructs/management-api.ts';
import {
  arnOf,
  type CfnResource,
  functionsByService,
  handlerFunction,
  onlyLogicalId,
  roleStatements,
  type SynthesizedGreco,
  synthesizeGreco,
} from './support.ts';

// Default context (cdk.json): Cognito user pool as issuer, prefix greco, Cognito claims.
let synthesized: SynthesizedGreco;
let template: Template;
let tableId: string;
let bucketId: string;

beforeAll(() => {
  synthesized = synthesizeGreco();
  template = synthesized.template;
  tableId = onlyLogicalId(template, 'AWS::DynamoDB::Table');
  bucketId = onlyLogicalId(template, 'AWS::S3::Bucket', {
    VersioningConfiguration: { Status: 'Enabled' },
    LoggingConfiguration: { LogFilePrefix: 'artifacts/' },
  });
});

afterAll(() => synthesized?.cleanup());

describe('the app', () => {
  it('names the control-plane stack GrecoControlPlane and pins no account or region', () => {
    const stack = synthesized.stacks.controlPlane;
    expect(stack.stackName).toBe(controlPlaneStackId);
    expect(stack.node.id).toBe('GrecoControlPlane');
    expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    expect(JSON.stringify(template.toJSON())).not.toMatch(/\b\d{12}\b/);
  });

  it('contains no custom resource of any kind', () => {
    const types = Object.values(template.toJSON().Resources as Record<string, CfnResource>).map(
      (r) => r.Type,
    );
    expect(
      types.filter((t) => t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource'),
    ).toEqual([]);
    // CDK's custom-resource providers (LogRetention, auto-delete objects, BucketDeployment) are Lambda
    // functions of their own: the only functions are greco's handlers.
    expect([...functionsByService(template).keys()].sort()).toEqual([
      'audit-api',
      'deployment-steps',
      'deployments-api',
      'drafts-api',
      'functions-api',
      'lambda-conductor',
    ]);
  });

  it('fixes no physical name on the table, buckets, functions, roles or log groups', () => {
    const named: Record<string, string> = {
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::Cognito::UserPool': 'UserPoolName',
    };
    for (const [type, nameProperty] of Object.entries(named)) {
      const resources = Object.values(template.findResources(type)) as CfnResource[];
      expect(resources.length, type).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.Properties?.[nameProperty], type).toBeUndefined();
    }
  });
});

describe('management API', () => {
  it('puts the JWT authorizer on every route', () => {
    const authorizerId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Authorizer');
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as CfnResource[];
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      expect(route.Properties, String(route.Properties?.RouteKey)).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizerId },
      });
    }
  });

  it('has exactly the v1 routes, each integrated with its handler', () => {
    const functions = functionsByService(template);
    const integrationTarget = new Map<string, unknown>();
    for (const [id, integration] of Object.entries(
      template.findResources('AWS::ApiGatewayV2::Integration'),
    )) {
      const props = (integration as CfnResource).Properties ?? {};
      expect(props).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      integrationTarget.set(id, props.IntegrationUri);
    }
    const actual = new Map<string, unknown>();
    for (const route of Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as CfnResource[]) {
      const target = route.Properties?.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
      actual.set(route.Properties?.RouteKey as string, integrationTarget.get(target['Fn::Join'][1][1].Ref));
    }
    const expected = new Map(
      managementRoutes.map((r) => [
        `${r.method} ${r.path}`,
        arnOf(functions.get(r.handler)?.id ?? 'missing'),
      ]),
    );
    expect(actual).toEqual(expected);
    expect([...actual.keys()]).toEqual(
      expect.arrayContaining([
        'GET /v1/functions',
        'GET /v1/functions/{name}',
        'POST /v1/drafts',
        'GET /v1/drafts',
        'GET /v1/drafts/{id}',
        'PUT /v1/drafts/{id}',
        'DELETE /v1/drafts/{id}',
        'PUT /v1/drafts/{id}/functions/{name}',
        'DELETE /v1/drafts/{id}/functions/{name}',
        'GET /v1/drafts/{id}/plan',
        'GET /v1/audit',
      ]),
    );
  });

  it('accepts ID tokens of the Cognito user pool by default', () => {
    const poolId = onlyLogicalId(template, 'AWS::Cognito::UserPool');
    const clientId = onlyLogicalId(template, 'AWS::Cognito::UserPoolClient');
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: { 'Fn::GetAtt': [poolId, 'ProviderURL'] }, Audience: [{ Ref: clientId }] },
    });
    template.hasOutput('JwtIssuer', { Value: { 'Fn::GetAtt': [poolId, 'ProviderURL'] } });
    template.hasOutput('UserPoolId', { Value: { Ref: poolId } });
    template.hasOutput('UserPoolClientId', { Value: { Ref: clientId } });
  });

  it('logs every request as JSON to a log group with retention, and throttles the default stage', () => {
    const format = new Capture();
    const destination = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: managementApiThrottle.rateLimit,
        ThrottlingBurstLimit: managementApiThrottle.burstLimit,
      },
      AccessLogSettings: { DestinationArn: destination, Format: format },
    });
    const logLine = JSON.parse(format.asString()) as Record<string, string>;
    expect(logLine).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      authorizerError: '$context.authorizer.error',
    });
    const logGroupId = (destination.asObject() as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId] as CfnResource;
    expect(logGroup.Properties?.RetentionInDays).toEqual(expect.any(Number));
  });

  it('outputs the API URL of the default stage', () => {
    const apiId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Api');
    const value = new Capture();
    template.hasOutput('ApiUrl', { Value: value });
    const url = JSON.stringify(value.asObject());
    expect(url).toContain(JSON.stringify({ Ref: apiId }));
    expect(url).toContain('.execute-api.');
    expect(url).toMatch(/^\{"Fn::Join":\["",\["https:\/\/"/);
  });
});

describe('Cognito user pool (default issuer)', () => {
  it('has the role groups and a workspace custom attribute', () => {
    const poolId = onlyLogicalId(template, 'AWS::Cognito::UserPool');
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')) as CfnResource[];
    expect(groups.map((g) => g.Properties?.GroupName).sort()).toEqual([
      'approver',
      'editor',
      'operator',
      'viewer',
    ]);
    for (const group of groups) expect(group.Properties?.UserPoolId).toEqual({ Ref: poolId });
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([
        Match.objectLike({ Name: 'workspace', AttributeDataType: 'String', Mutable: true }),
      ]),
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
    });
  });

  it('does not let users rewrite their own workspace', () => {
    const client = template.findResources('AWS::Cognito::UserPoolClient');
    const props = (Object.values(client)[0] as CfnResource).Properties ?? {};
    expect(props.WriteAttributes).toEqual(expect.any(Array));
    expect(props.WriteAttributes).not.toContain('custom:workspace');
    expect(props.ReadAttributes).toContain('custom:workspace');
    expect(props.GenerateSecret).toBe(false);
  });

  it('is retained and protected from deletion', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtection: 'ACTIVE' }),
    });
  });
});

describe('config table', () => {
  it('is on-demand with PITR, deletion protection and encryption, keyed pk/sk with TTL on expiresAt', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayEquals([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('survives stack deletion and replacement', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('is named in the ConfigTableName output', () => {
    template.hasOutput('ConfigTableName', { Value: { Ref: tableId } });
  });
});

describe('artifacts bucket', () => {
  it('is versioned, encrypted and blocks all public access', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
  });

  it('expires presigned uploads that no spec used after a day, and only those', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[bucketId] as CfnResource;
    const rules = (bucket.Properties as { LifecycleConfiguration: { Rules: Record<string, unknown>[] } })
      .LifecycleConfiguration.Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Id: 'expire-unused-uploads',
          Prefix: 'uploads/',
          ExpirationInDays: 1,
          Status: 'Enabled',
        }),
      ]),
    );
    expect(rules.filter((rule) => rule.ExpirationInDays !== undefined).map((rule) => rule.Prefix)).toEqual([
      'uploads/',
    ]);
  });

  it('denies every request that does not use TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [arnOf(bucketId), { 'Fn::Join': ['', [arnOf(bucketId), '/*']] }],
          },
        ]),
      },
    });
  });

  it('writes server access logs to a TLS-only, encrypted, private logs bucket', () => {
    const target = new Capture();
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: target }, LogFilePrefix: Match.anyValue() },
    });
    const logsId = target.asString();
    const logs = template.findResources('AWS::S3::Bucket')[logsId] as CfnResource;
    expect(logs.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        // arrayWith matches in order: the TLS deny comes first.
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': arnOf(bucketId) } }),
          }),
        ]),
      },
    });
  });

  it('keeps every bucket when the stack is deleted', () => {
    const buckets = Object.values(template.findResources('AWS::S3::Bucket')) as CfnResource[];
    expect(buckets).toHaveLength(3);
    for (const bucket of buckets) {
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('is named in the ArtifactsBucketName output', () => {
    template.hasOutput('ArtifactsBucketName', { Value: { Ref: bucketId } });
  });
});

describe('handlers', () => {
  const readActions = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];
  const writeActions = [
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ];

  it.each(['functions-api', 'drafts-api', 'audit-api'])(
    '%s runs Node.js 24 on arm64 with tracing and its own log group',
    (service) => {
      const fn = handlerFunction(template, service);
      expect(fn.properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: expect.any(Number),
        Timeout: expect.any(Number),
      });
      expect(fn.properties.Timeout as number).toBeLessThan(30);
      const logGroup = template.findResources('AWS::Logs::LogGroup')[fn.logGroupId] as CfnResource;
      expect(logGroup.Properties?.RetentionInDays).toEqual(expect.any(Number));
    },
  );

  it.each(['functions-api', 'drafts-api', 'audit-api'])(
    '%s gets the table, prefix and claim names from the environment',
    (service) => {
      const env = handlerFunction(template, service).environment;
      expect(env).toMatchObject({
        [EnvNames.configTable]: { Ref: tableId },
        [EnvNames.managedPrefix]: 'greco',
        [EnvNames.workspaceClaim]: 'custom:workspace',
        [EnvNames.rolesClaim]: 'cognito:groups',
        NODE_OPTIONS: '--enable-source-maps',
      });
      if (service === 'drafts-api') expect(env[EnvNames.artifactsBucket]).toEqual({ Ref: bucketId });
      else expect(env[EnvNames.artifactsBucket]).toBeUndefined();
    },
  );

  it("drafts-api gets the account's concurrency quota that bounds reservedConcurrency, Lambda's 1,000 by default", () => {
    expect(handlerFunction(template, 'drafts-api').environment[EnvNames.accountConcurrency]).toBe('1000');
  });

  it.each(['functions-api', 'audit-api'])('%s may only read the config table', (service) => {
    const statements = statementsOf(service);
    const data = statements.filter((s) =>
      s.Action.some((a) => a.startsWith('dynamodb:') || a.startsWith('s3:')),
    );
    expect(data.length).toBeGreaterThan(0);
    for (const statement of data) {
      expect(statement.Resource).toEqual([arnOf(tableId)]);
      expect(statement.Action.every((a) => a.startsWith('dynamodb:'))).toBe(true);
    }
    const actions = data.flatMap((s) => s.Action);
    expect(actions).toEqual(expect.arrayContaining(readActions));
    for (const action of writeActions) expect(actions).not.toContain(action);
  });

  it('drafts-api may read and write the config table', () => {
    const table = statementsOf('drafts-api').filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
    for (const statement of table) expect(statement.Resource).toEqual([arnOf(tableId)]);
    expect(table.flatMap((s) => s.Action)).toEqual(expect.arrayContaining([...readActions, ...writeActions]));
  });

  it('drafts-api may get and put objects under code/, put, get and delete presigned uploads under uploads/ and list the bucket, nothing more in S3', () => {
    const s3 = statementsOf('drafts-api').filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    const codeObjects = { 'Fn::Join': ['', [arnOf(bucketId), '/code/*']] };
    const uploadObjects = { 'Fn::Join': ['', [arnOf(bucketId), '/uploads/*']] };
    expect(s3).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: [codeObjects] },
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
          Resource: [uploadObjects],
        },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [arnOf(bucketId)] },
      ]),
    );
    expect(s3).toHaveLength(3);
  });

  it.each(['functions-api', 'drafts-api', 'audit-api'])(
    '%s has no wildcard resource except the acknowledged X-Ray statement, and no managed policy',
    (service) => {
      const fn = handlerFunction(template, service);
      const role = template.findResources('AWS::IAM::Role')[fn.roleId] as CfnResource;
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
      for (const statement of statementsOf(service)) {
        expect(statement.Effect).toBe('Allow');
        if (statement.Resource.includes('*')) {
          expect(statement.Action.sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
        }
        for (const action of statement.Action) expect(action).not.toContain('*');
      }
      const logs = statementsOf(service).filter((s) => s.Action.some((a) => a.startsWith('logs:')));
      expect(logs).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [arnOf(fn.logGroupId)],
        },
      ]);
    },
  );
});

function statementsOf(service: string) {
  return roleStatements(template, handlerFunction(template, service).roleId);
}
