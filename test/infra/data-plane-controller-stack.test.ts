import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, ArnFormat } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvNames } from '../../domain/env.ts';
import { GrecoTags } from '../../domain/tags.ts';
import {
  controllerLambdaActions,
  DataPlaneControllerOutputs,
  DataPlaneControllerStack,
  type DataPlaneControllerStackProps,
  durationP99ThresholdMs,
} from '../../lib/data-plane-controller-stack.ts';
import { addNagChecks } from '../../lib/nag.ts';
import { type CfnResource, onlyLogicalId, roleStatements, type Statement } from './support.ts';

const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example';
const props: DataPlaneControllerStackProps = {
  managedPrefix: 'acme',
  jwtIssuer: issuer,
  jwtAudience: ['client-a', 'client-b'],
  eventBusName: 'greco-events',
};

const outdirs: string[] = [];

/** Synthesizes the stack alone on a fresh app with the cdk-nag packs; synthesis fails on any unacknowledged finding. */
function synthesize(
  stackProps: DataPlaneControllerStackProps,
  mutate?: (stack: DataPlaneControllerStack) => void,
): { stack: DataPlaneControllerStack; template: Template; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'greco-dpc-infra-'));
  outdirs.push(outdir);
  const app = new App({ outdir });
  addNagChecks(app);
  const stack = new DataPlaneControllerStack(app, 'GrecoDataPlaneController', stackProps);
  mutate?.(stack);
  return { stack, template: Template.fromStack(stack), outdir };
}

/** `arn:${Partition}:<service>:${Region}:${AccountId}:<resource>` as CloudFormation renders it. */
function stackArn(service: string, resource: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        `:${service}:`,
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:${resource}`,
      ],
    ],
  };
}

let template: Template;
let outdir: string;
let functionId: string;
let statements: Statement[];

beforeAll(() => {
  ({ template, outdir } = synthesize(props));
  functionId = onlyLogicalId(template, 'AWS::Lambda::Function');
  const roleArn = (template.findResources('AWS::Lambda::Function')[functionId] as CfnResource).Properties
    ?.Role as {
    'Fn::GetAtt': [string, string];
  };
  statements = roleStatements(template, roleArn['Fn::GetAtt'][0]);
});

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('controller IAM', () => {
  const managedFunctions = stackArn('lambda', 'function:acme-*');
  const lambdaStatements = () => statements.filter((s) => s.Action.some((a) => a.startsWith('lambda:')));

  it('allows exactly the concurrency, tag and read actions on Lambda, and no other Lambda action', () => {
    const actions = lambdaStatements().flatMap((s) => s.Action);
    expect(actions.sort()).toEqual(
      [
        'lambda:DeleteFunctionConcurrency',
        'lambda:GetFunction',
        'lambda:GetFunctionConcurrency',
        'lambda:GetFunctionConfiguration',
        'lambda:ListTags',
        'lambda:PutFunctionConcurrency',
        'lambda:TagResource',
        'lambda:UntagResource',
      ].sort(),
    );
    expect(actions).not.toContain('lambda:InvokeFunction');
  });

  it('grants every Lambda action only on functions named with the managed prefix', () => {
    for (const statement of lambdaStatements()) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Resource).toEqual([managedFunctions]);
    }
  });

  it('may tag and untag only the greco:suspended key', () => {
    const tagging = lambdaStatements().filter((s) => s.Action.includes('lambda:TagResource'));
    expect(tagging).toHaveLength(1);
    expect(tagging[0]?.Action.sort()).toEqual([...controllerLambdaActions.tags].sort());
    expect(tagging[0]?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/greco:managed': 'true' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [GrecoTags.suspended] },
    });
  });

  it('changes concurrency and the suspended tag only of functions tagged greco:managed=true', () => {
    for (const sid of ['SetConcurrencyOfManagedFunctions', 'TagManagedFunctionsSuspended']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: sid,
              Condition: Match.objectLike({
                StringEquals: { [`aws:ResourceTag/${GrecoTags.managed}`]: 'true' },
              }),
            }),
          ]),
        },
      });
    }
  });

  it('reads every function of the managed prefix, so that one greco does not manage answers 404', () => {
    const reads = lambdaStatements().filter((s) => s.Condition === undefined);
    expect(reads.map((s) => s.Action.sort())).toEqual([[...controllerLambdaActions.read].sort()]);
  });

  it('may publish events only to the configured bus', () => {
    const events = statements.filter((s) => s.Action.some((a) => a.startsWith('events:')));
    expect(events).toEqual([
      {
        Effect: 'Allow',
        Action: ['events:PutEvents'],
        Resource: [stackArn('events', 'event-bus/greco-events')],
      },
    ]);
  });

  it('grants nothing on DynamoDB, S3, Step Functions, API Gateway or any other service', () => {
    const services = new Set(statements.flatMap((s) => s.Action.map((a) => a.split(':')[0])));
    expect([...services].sort()).toEqual(['events', 'lambda', 'logs', 'xray']);
    const logs = statements.filter((s) => s.Action.some((a) => a.startsWith('logs:')));
    const logGroupId = onlyLogicalId(template, 'AWS::Logs::LogGroup');
    for (const statement of logs) expect(statement.Resource).toEqual([{ 'Fn::GetAtt': [logGroupId, 'Arn'] }]);
  });

  it('has no wildcard resource except the X-Ray statement, and no managed policy', () => {
    for (const statement of statements) {
      if (statement.Resource.includes('*')) {
        expect(statement.Action.sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role')) as CfnResource[]) {
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('defaults the managed prefix to greco and the bus to greco', () => {
    const { template: defaults } = synthesize({ jwtIssuer: issuer, jwtAudience: ['client-a'] });
    defaults.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [...controllerLambdaActions.concurrency],
            Resource: stackArn('lambda', 'function:greco-*'),
          }),
          Match.objectLike({ Action: 'events:PutEvents', Resource: stackArn('events', 'event-bus/greco') }),
        ]),
      },
    });
  });
});

describe('controller function', () => {
  it('runs Node.js 24 on arm64 with its settings wired through the environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          [EnvNames.managedPrefix]: 'acme',
          [EnvNames.jwtIssuer]: issuer,
          [EnvNames.jwtAudience]: 'client-a,client-b',
          [EnvNames.workspaceClaim]: 'custom:workspace',
          [EnvNames.rolesClaim]: 'cognito:groups',
          [EnvNames.eventBusName]: 'greco-events',
        }),
      },
      LoggingConfig: { LogGroup: { Ref: onlyLogicalId(template, 'AWS::Logs::LogGroup') } },
    });
  });

  it('is served by a function URL with AuthType NONE (the function verifies tokens itself)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
    // Since October 2025 a public function URL needs both permissions (Lambda Developer Guide, urls-auth).
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: '*',
      InvokedViaFunctionUrl: true,
    });
    template.hasOutput(DataPlaneControllerOutputs.controllerUrl, {
      Value: { 'Fn::GetAtt': [onlyLogicalId(template, 'AWS::Lambda::Url'), 'FunctionUrl'] },
    });
  });

  it('contains no custom resource and no function besides the controller', () => {
    const types = Object.values(template.toJSON().Resources as Record<string, CfnResource>).map(
      (r) => r.Type,
    );
    expect(
      types.filter((t) => t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource'),
    ).toEqual([]);
    expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(1);
  });

  it('bundles under 50 KB minified, with the AWS SDK left to the runtime and no framework', () => {
    const assets = JSON.parse(readFileSync(join(outdir, 'GrecoDataPlaneController.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const code = Object.values(assets.files).find((file) => file.source.packaging === 'zip');
    expect(code).toBeDefined();
    const bundle = join(outdir, code?.source.path ?? 'missing', 'index.mjs');
    const sizeBytes = statSync(bundle).size;
    expect(sizeBytes).toBeLessThan(50 * 1024);
    const text = readFileSync(bundle, 'utf8');
    expect(text).toMatch(/from"@aws-sdk\/client-lambda"/);
    expect(text).toMatch(/from"@aws-sdk\/client-eventbridge"/);
    expect(text).not.toMatch(/@middy|@aws-lambda-powertools|smithy/i);
  });
});

describe('controller alarms', () => {
  const alarmOn = (metricName: string) =>
    Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }),
    ).map((r) => (r as CfnResource).Properties ?? {});

  it.each([
    ['Errors', 'Sum', 1],
    ['Throttles', 'Sum', 1],
    ['Url5xxCount', 'Sum', 5],
  ])('alarms on %s (%s >= %d in a minute)', (metricName, statistic, threshold) => {
    const [alarm, ...others] = alarmOn(metricName);
    expect(others).toEqual([]);
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: statistic,
      Period: 60,
      Threshold: threshold,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
    });
  });

  it('alarms when p99 duration stays above the threshold for 3 of 5 minutes', () => {
    const [alarm, ...others] = alarmOn('Duration');
    expect(others).toEqual([]);
    expect(alarm).toMatchObject({
      ExtendedStatistic: 'p99',
      Period: 60,
      Threshold: durationP99ThresholdMs,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
    });
    expect(durationP99ThresholdMs).toBeGreaterThanOrEqual(1000);
    expect(durationP99ThresholdMs).toBeLessThan(15_000);
  });

  it('alarms when events could not be published', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: { Namespace: 'Greco/HotPath', MetricName: 'EventPublishFailures' },
            Stat: 'Sum',
          }),
        }),
      ]),
    });
  });
});

describe('cdk-nag', () => {
  it('passes the AwsSolutions and Serverless packs (synthesis ran them above)', () => {
    expect(template.toJSON().Resources).toBeDefined();
  });

  it('fails synthesis on an unacknowledged finding in this stack', () => {
    expect(() =>
      synthesize(props, (stack) =>
        stack.controller.function.addToRolePolicy(
          new PolicyStatement({
            actions: ['lambda:*'],
            resources: [
              stack.formatArn({
                service: 'lambda',
                resource: 'function',
                resourceName: 'x',
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            ],
          }),
        ),
      ),
    ).toThrow(/AwsSolutions-IAM5\[Action::lambda:\*\]/);
  });
});

describe('props', () => {
  it.each([
    [{ managedPrefix: 'Acme' }, /managedPrefix must be 1 to 16 lowercase letters/],
    [{ managedPrefix: 'a'.repeat(17) }, /managedPrefix/],
    [{ jwtAudience: [] }, /jwtAudience must list 1 to 50 audiences, got 0/],
    [{ jwtAudience: ['a,b'] }, /contain no comma, got "a,b"/],
    [{ jwtIssuer: 'not a url' }, /jwtIssuer must be an http\(s\) URL, got "not a url"/],
    [{ eventBusName: 'bad bus' }, /eventBusName must be/],
  ])('rejects %j', (bad, message) => {
    expect(() => new DataPlaneControllerStack(new App(), 'Bad', { ...props, ...bad })).toThrow(message);
  });
});
