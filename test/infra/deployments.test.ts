/**
 * The Deployments construct in the synthesized control plane: the state machine and its
 * definition, the conductor's, steps' and API's IAM, the snapshots bucket, the bus, the routes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import {
  conductorTimeout,
  defaultConductorRateLimit,
  lambdaConductorFunctionActions,
} from '../../lib/conductors.ts';
import { deploymentStepsTimeout, stepsFunctionArnSubstitution } from '../../lib/constructs/deployments.ts';
import { parseDefinition } from '../../local/stepfunctions/definition.ts';
import {
  arnOf,
  type CfnResource,
  handlerFunction,
  onlyLogicalId,
  roleStatements,
  type Statement,
  type SynthesizedGreco,
  synthesizeGreco,
} from './support.ts';

let synthesized: SynthesizedGreco;
let template: Template;
let acme: SynthesizedGreco;
let stateMachineId: string;
let snapshotsId: string;
let dataPlaneRoleId: string;
let boundaryId: string;
let busId: string;
let tableId: string;
let artifactsId: string;

beforeAll(() => {
  synthesized = synthesizeGreco();
  template = synthesized.template;
  acme = synthesizeGreco({ 'greco:managedPrefix': 'acme' });
  stateMachineId = onlyLogicalId(template, 'AWS::StepFunctions::StateMachine');
  snapshotsId = onlyLogicalId(template, 'AWS::S3::Bucket', {
    LoggingConfiguration: { LogFilePrefix: 'snapshots/' },
  });
  artifactsId = onlyLogicalId(template, 'AWS::S3::Bucket', {
    LoggingConfiguration: { LogFilePrefix: 'artifacts/' },
  });
  dataPlaneRoleId = onlyLogicalId(template, 'AWS::IAM::Role', {
    Description: Match.stringLikeRegexp('data-plane functions'),
  });
  boundaryId = onlyLogicalId(template, 'AWS::IAM::ManagedPolicy', {
    Description: Match.stringLikeRegexp('Permissions boundary'),
  });
  busId = onlyLogicalId(template, 'AWS::Events::EventBus');
  tableId = onlyLogicalId(template, 'AWS::DynamoDB::Table');
});

afterAll(() => {
  synthesized?.cleanup();
  acme?.cleanup();
});

const managedArn = (prefix: string, suffix = '') => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':lambda:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:function:${prefix}-*${suffix}`,
    ],
  ],
});

function stateMachine(t: Template = template): Record<string, unknown> {
  return (
    (Object.values(t.findResources('AWS::StepFunctions::StateMachine'))[0] as CfnResource).Properties ?? {}
  );
}

function statementsOfService(service: string, t: Template = template): Statement[] {
  return roleStatements(t, handlerFunction(t, service).roleId);
}

function stateMachineRoleId(): string {
  return (stateMachine().RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

describe('deployment state machine', () => {
  it('is a Standard state machine loaded from deployment.asl.json, logging ALL and traced', () => {
    const logGroupId = new Capture();
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      DefinitionS3Location: { Key: Match.stringLikeRegexp('\\.json$') },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    const logGroup = template.findResources('AWS::Logs::LogGroup')[logGroupId.asString()] as CfnResource;
    expect(logGroup.Properties?.RetentionInDays).toEqual(expect.any(Number));
  });

  it('ships the ASL file as an asset whose every substitution is resolved to the steps function', () => {
    const key = (stateMachine().DefinitionS3Location as { Key: string }).Key;
    const text = readFileSync(join(synthesized.app.outdir, `asset.${key}`), 'utf8');
    const source = readFileSync(new URL('../../statemachines/deployment.asl.json', import.meta.url), 'utf8');
    expect(text).toBe(source);

    const substitutions = stateMachine().DefinitionSubstitutions as Record<string, unknown>;
    const placeholders = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect([...placeholders]).toEqual([stepsFunctionArnSubstitution]);
    expect(Object.keys(substitutions)).toEqual([...placeholders]);
    const stepsId = handlerFunction(template, 'deployment-steps').id;
    expect(substitutions[stepsFunctionArnSubstitution]).toEqual(arnOf(stepsId));

    // Resolved as CloudFormation would, the definition is one the local emulator runs.
    const resolved = text.replaceAll(
      `\${${stepsFunctionArnSubstitution}}`,
      'arn:aws:lambda:us-east-1:000000000000:function:steps',
    );
    expect(() => parseDefinition(resolved)).not.toThrow();
  });

  it('may invoke the steps and the conductor functions, and no other function', () => {
    const invokes = roleStatements(template, stateMachineRoleId()).filter((s) =>
      s.Action.some((a) => a.startsWith('lambda:')),
    );
    const targets = [
      handlerFunction(template, 'deployment-steps').id,
      handlerFunction(template, 'lambda-conductor').id,
    ];
    expect(invokes).toEqual(
      targets.map((id) => ({
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        Resource: [arnOf(id), { 'Fn::Join': ['', [arnOf(id), ':*']] }],
      })),
    );
  });
});

describe('deployment state machine role', () => {
  it('has logs:PutResourcePolicy only in the vended-logs statement CDK adds for its log group', () => {
    const logs = roleStatements(template, stateMachineRoleId()).filter((s) =>
      s.Action.some((a) => a.startsWith('logs:')),
    );
    expect(logs).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        Resource: ['*'],
      },
    ]);
  });

  it('is assumed by Step Functions for state machines of this account only', () => {
    const role = template.findResources('AWS::IAM::Role')[stateMachineRoleId()] as CfnResource;
    expect(role.Properties?.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Principal: { Service: 'states.amazonaws.com' },
          Condition: {
            ArnLike: { 'aws:SourceArn': expect.anything() },
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          },
        },
      ],
    });
  });
});

describe('Lambda conductor', () => {
  it("has Lambda's maximum timeout, 15 minutes, and its settings in the environment", () => {
    const fn = handlerFunction(template, 'lambda-conductor');
    expect(fn.properties.Timeout).toBe(conductorTimeout.toSeconds());
    expect(fn.properties.Timeout).toBe(900);
    expect(fn.environment).toMatchObject({
      [EnvNames.configTable]: { Ref: tableId },
      [EnvNames.artifactsBucket]: { Ref: artifactsId },
      [EnvNames.snapshotsBucket]: { Ref: snapshotsId },
      [EnvNames.dataPlaneRoleArn]: arnOf(dataPlaneRoleId),
      [EnvNames.dataPlaneBoundaryArn]: { Ref: boundaryId },
      [EnvNames.managedPrefix]: 'greco',
      [EnvNames.conductorRateLimit]: String(defaultConductorRateLimit),
    });
  });

  it('may call the Lambda API only on functions of the managed prefix, their versions and aliases', () => {
    const lambda = statementsOfService('lambda-conductor').filter((s) =>
      s.Action.some((a) => a.startsWith('lambda:')),
    );
    const onFunctions = lambda.filter((s) => !s.Action.includes('lambda:GetAccountSettings'));
    for (const statement of onFunctions) {
      expect(statement.Resource).toEqual([managedArn('greco'), managedArn('greco', ':*')]);
    }
    // Every action the conductor calls, in one statement each, but TagResource also for tags on create.
    const granted = onFunctions.flatMap((s) => s.Action);
    expect([...new Set(granted)].sort()).toEqual([...lambdaConductorFunctionActions].sort());
    expect(granted.filter((a) => a !== 'lambda:TagResource')).toHaveLength(granted.length - 2);
    expect(lambda).toContainEqual({
      Effect: 'Allow',
      Action: ['lambda:GetAccountSettings'],
      Resource: ['*'],
    });
    expect(lambda).toHaveLength(onFunctions.length + 1);
    for (const action of lambda.flatMap((s) => s.Action)) expect(action).not.toContain('*');
  });

  it('reads functions of the managed prefix whatever their tags, to veto a name greco does not manage', () => {
    const reads = statementsOfService('lambda-conductor').filter((s) => s.Condition === undefined);
    const lambdaReads = reads.filter((s) => s.Action.some((a) => a.startsWith('lambda:')));
    expect(lambdaReads.map((s) => s.Action)).toEqual([
      ['lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:ListTags'],
      ['lambda:GetAccountSettings'],
    ]);
  });

  it('changes, versions, aliases and deletes only functions tagged greco:managed=true', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ManagedFunctionsOnly',
            Action: Match.arrayWith([
              'lambda:UpdateFunctionCode',
              'lambda:UpdateFunctionConfiguration',
              'lambda:PublishVersion',
              'lambda:DeleteFunction',
              'lambda:UpdateAlias',
              'lambda:PutFunctionConcurrency',
            ]),
            Condition: { StringEquals: { 'aws:ResourceTag/greco:managed': 'true' } },
          }),
        ]),
      },
    });
  });

  it('creates a function only with greco:managed=true, its workspace and name tags, and never greco:suspended', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CreateManagedFunctionsOnly',
            Action: ['lambda:CreateFunction', 'lambda:TagResource'],
            Condition: {
              StringEquals: { 'aws:RequestTag/greco:managed': 'true' },
              Null: { 'aws:RequestTag/greco:workspace': 'false', 'aws:RequestTag/greco:function': 'false' },
              'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['greco:suspended'] },
            },
          }),
        ]),
      },
    });
  });

  it("tags only managed functions, never greco:suspended (the hot path's) and greco:managed only as true", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'TagManagedFunctionsOnly',
            Action: 'lambda:TagResource',
            Condition: {
              StringEquals: { 'aws:ResourceTag/greco:managed': 'true' },
              StringEqualsIfExists: { 'aws:RequestTag/greco:managed': 'true' },
              'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['greco:suspended'] },
            },
          }),
        ]),
      },
    });
  });

  it("untags only the user's tags of managed functions, never a greco: tag", () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'UntagManagedFunctionsOnly',
            Action: 'lambda:UntagResource',
            Condition: {
              StringEquals: { 'aws:ResourceTag/greco:managed': 'true' },
              'ForAllValues:StringNotLike': { 'aws:TagKeys': ['greco:*'] },
            },
          }),
        ]),
      },
    });
  });

  it('follows the managed prefix of the context', () => {
    const lambda = statementsOfService('lambda-conductor', acme.template).filter((s) =>
      s.Action.includes('lambda:CreateFunction'),
    );
    expect(lambda.map((s) => s.Resource)).toEqual([[managedArn('acme'), managedArn('acme', ':*')]]);
  });

  it('may create workspace roles with the boundary only, read them, and pass them or the shared role to Lambda only', () => {
    const iam = statementsOfService('lambda-conductor').filter((s) =>
      s.Action.some((a) => a.startsWith('iam:')),
    );
    const workspaceRoles = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':iam::',
          { Ref: 'AWS::AccountId' },
          ':role/greco/greco/workspaces/*',
        ],
      ],
    };
    const toLambdaOnly = { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } };
    expect(iam).toEqual([
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: [arnOf(dataPlaneRoleId)],
        Condition: toLambdaOnly,
      },
      {
        Effect: 'Allow',
        Action: ['iam:CreateRole', 'iam:PutRolePolicy'],
        Resource: [workspaceRoles],
        Condition: { StringEquals: { 'iam:PermissionsBoundary': { Ref: boundaryId } } },
      },
      { Effect: 'Allow', Action: ['iam:GetRole'], Resource: [workspaceRoles] },
      { Effect: 'Allow', Action: ['iam:PassRole'], Resource: [workspaceRoles], Condition: toLambdaOnly },
    ]);
  });

  it('may read code zips under code/ only, and snapshots; it writes no object', () => {
    const s3 = statementsOfService('lambda-conductor').filter((s) =>
      s.Action.some((a) => a.startsWith('s3:')),
    );
    expect(s3).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: ['s3:GetObject'],
          Resource: [{ 'Fn::Join': ['', [arnOf(artifactsId), '/code/*']] }],
        },
        {
          Effect: 'Allow',
          Action: ['s3:GetObject'],
          Resource: [{ 'Fn::Join': ['', [arnOf(snapshotsId), '/*']] }],
        },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [arnOf(artifactsId), arnOf(snapshotsId)] },
      ]),
    );
    expect(s3).toHaveLength(3);
  });

  it('reads and writes the config table', () => {
    const table = statementsOfService('lambda-conductor').filter((s) =>
      s.Action.includes('dynamodb:PutItem'),
    );
    expect(table.map((s) => s.Resource)).toEqual([[arnOf(tableId)]]);
  });
});

describe('data-plane execution role', () => {
  it('is assumed by Lambda and may only write the logs of managed functions', () => {
    const role = template.findResources('AWS::IAM::Role')[dataPlaneRoleId] as CfnResource;
    expect(role.Properties?.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ],
    });
    expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    const actions = roleStatements(template, dataPlaneRoleId).flatMap((s) => s.Action);
    expect(actions.sort()).toEqual(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']);
    for (const statement of roleStatements(template, dataPlaneRoleId)) {
      expect(JSON.stringify(statement.Resource)).toContain(':log-group:/aws/lambda/greco-*');
    }
  });
});

describe('data-plane permissions boundary', () => {
  it('caps the per-workspace roles at creating and writing the workspace log groups of the deployment', () => {
    // Prepare
    const policies = Object.values(
      template.findResources('AWS::IAM::ManagedPolicy', {
        Properties: { Description: Match.stringLikeRegexp('^Permissions boundary') },
      }),
    ) as CfnResource[];

    // Act
    const document = policies[0]?.Properties?.PolicyDocument as
      | { Statement: { Action: unknown; Resource: unknown }[] }
      | undefined;
    const statements = document?.Statement ?? [];

    // Assess
    expect(policies).toHaveLength(1);
    expect(statements.map((s) => s.Action)).toEqual([
      'logs:CreateLogGroup',
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
    ]);
    expect(JSON.stringify(statements[0]?.Resource)).toMatch(/:log-group:\/greco\/greco\/workspaces\/\*"/);
    expect(JSON.stringify(statements[1]?.Resource)).toMatch(/:log-group:\/greco\/greco\/workspaces\/\*:\*"/);
  });
});

describe('deployment steps', () => {
  it('get the conductor registry, bus, bucket and table from the environment, within their task timeout', () => {
    const fn = handlerFunction(template, 'deployment-steps');
    const conductorId = handlerFunction(template, 'lambda-conductor').id;
    expect(fn.properties.Timeout).toBe(deploymentStepsTimeout.toSeconds());
    expect(fn.environment).toMatchObject({
      [EnvNames.configTable]: { Ref: tableId },
      [EnvNames.snapshotsBucket]: { Ref: snapshotsId },
      [EnvNames.eventBusName]: { Ref: busId },
      [EnvNames.conductors]: {
        'Fn::Join': ['', ['[{"name":"lambda","functionArn":"', arnOf(conductorId), '"}]']],
      },
    });
  });

  it('may read and write snapshots, put events on the bus only, and use the table', () => {
    const statements = statementsOfService('deployment-steps');
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: [{ 'Fn::Join': ['', [arnOf(snapshotsId), '/*']] }],
        },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [arnOf(snapshotsId)] },
        { Effect: 'Allow', Action: ['events:PutEvents'], Resource: [arnOf(busId)] },
      ]),
    );
    const table = statements.filter((s) => s.Action.includes('dynamodb:PutItem'));
    expect(table.map((s) => s.Resource)).toEqual([[arnOf(tableId)]]);
    expect(
      statements.flatMap((s) => s.Action).filter((a) => a.startsWith('lambda:') || a.startsWith('iam:')),
    ).toEqual([]);
  });
});

describe('deployments API', () => {
  it('runs under the two-person rule only when greco:twoPersonRule is true', () => {
    // Prepare / Act
    const on = synthesizeGreco({ 'greco:twoPersonRule': true });

    // Assess
    expect(handlerFunction(on.template, 'deployments-api').environment[EnvNames.twoPersonRule]).toBe('true');
    expect(handlerFunction(template, 'deployments-api').environment[EnvNames.twoPersonRule]).toBeUndefined();
  });

  it('may start executions of the deployment state machine and describe them, nothing else in Step Functions', () => {
    const fn = handlerFunction(template, 'deployments-api');
    expect(fn.environment[EnvNames.deploymentStateMachineArn]).toEqual({ Ref: stateMachineId });
    const states = statementsOfService('deployments-api').filter((s) =>
      s.Action.some((a) => a.startsWith('states:')),
    );
    expect(states).toEqual([
      { Effect: 'Allow', Action: ['states:StartExecution'], Resource: [{ Ref: stateMachineId }] },
      {
        Effect: 'Allow',
        Action: ['states:DescribeExecution'],
        Resource: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':states:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':execution:',
                { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: stateMachineId }] }] },
                ':*',
              ],
            ],
          },
        ],
      },
    ]);
  });

  it('serves its three routes behind the JWT authorizer', () => {
    const authorizerId = onlyLogicalId(template, 'AWS::ApiGatewayV2::Authorizer');
    const apiId = handlerFunction(template, 'deployments-api').id;
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
      Properties: { IntegrationUri: arnOf(apiId) },
    });
    expect(Object.keys(integrations)).toHaveLength(1);
    const integrationId = Object.keys(integrations)[0] as string;
    for (const routeKey of [
      'POST /v1/drafts/{id}/deployments',
      'GET /v1/deployments',
      'GET /v1/deployments/{id}',
    ]) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizerId },
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] },
      });
    }
  });
});

describe('snapshots bucket', () => {
  it('is versioned, encrypted, private, logged and kept when the stack goes', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
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
        LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'snapshots/' },
      }),
    });
  });

  it('denies every request that does not use TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: snapshotsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [arnOf(snapshotsId), { 'Fn::Join': ['', [arnOf(snapshotsId), '/*']] }],
          }),
        ]),
      },
    });
  });

  it('is named in the SnapshotsBucketName output', () => {
    template.hasOutput('SnapshotsBucketName', { Value: { Ref: snapshotsId } });
  });
});

describe('event bus', () => {
  it('is named greco, the one physical name of the design, and is output', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'greco' });
    template.hasOutput('EventBusName', { Value: { Ref: busId } });
    template.hasOutput('DeploymentStateMachineArn', { Value: { Ref: stateMachineId } });
  });
});
