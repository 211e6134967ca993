// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub and Step Functions substitutions use ${...} in plain strings
import { App, Stack } from 'aws-cdk-lib';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { DependencyCycleError, TemplateError } from '../../local/deploy/errors.ts';
import {
  dependencyOrder,
  referencedResources,
  resourceDependencies,
  runInDependencyOrder,
} from '../../local/deploy/order.ts';
import type { CfnTemplate } from '../../local/deploy/template.ts';

describe('referencedResources', () => {
  const ids = new Set(['A', 'B', 'C', 'D', 'E']);
  it.each([
    ['Ref', { Ref: 'A' }, ['A']],
    ['Ref of a parameter or pseudo parameter', [{ Ref: 'AWS::Region' }, { Ref: 'Param' }], []],
    ['Fn::GetAtt list form', { 'Fn::GetAtt': ['B', 'Arn'] }, ['B']],
    ['Fn::GetAtt string form', { 'Fn::GetAtt': 'C.Endpoint.Address' }, ['C']],
    ['Fn::Sub string form', { 'Fn::Sub': '${A}-${B.Arn}-${AWS::Region}-${!C}' }, ['A', 'B']],
    [
      'Fn::Sub with variables, which shadow resources',
      { 'Fn::Sub': ['${A}${D}', { A: 'x', V: { Ref: 'E' } }] },
      ['D', 'E'],
    ],
    [
      'nested in Fn::Join and objects',
      { x: { 'Fn::Join': ['', [{ Ref: 'D' }, { y: { Ref: 'E' } }]] } },
      ['D', 'E'],
    ],
  ])('finds %s', (_name, value, expected) => {
    expect([...referencedResources(value, ids)].sort()).toEqual(expected);
  });
});

describe('resourceDependencies and dependencyOrder', () => {
  it('orders a synthesized stack so each resource comes after what it refers to', () => {
    // Prepare
    const app = new App();
    const stack = new Stack(app, 'Order');
    const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const fn = new LambdaFunction(stack, 'Fn', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline('exports.handler = async () => 1;'),
      environment: { TABLE: table.tableName },
    });
    table.grantReadData(fn);
    const api = new HttpApi(stack, 'Api');
    api.addRoutes({ path: '/x', methods: [HttpMethod.GET], integration: new HttpLambdaIntegration('I', fn) });
    const template = app.synth().getStackByName('Order').template as CfnTemplate;
    const resources = template.Resources ?? {};
    const idOf = (type: string) =>
      Object.keys(resources).find((id) => resources[id]?.Type === type) as string;

    // Act
    const dependencies = resourceDependencies(template);
    const order = dependencyOrder(Object.keys(resources), dependencies, 'resources of Order');

    // Assess
    const comesBefore = (first: string, second: string) =>
      expect(order.indexOf(first)).toBeLessThan(order.indexOf(second));
    comesBefore(idOf('AWS::DynamoDB::Table'), idOf('AWS::Lambda::Function'));
    comesBefore(idOf('AWS::IAM::Role'), idOf('AWS::Lambda::Function'));
    comesBefore(idOf('AWS::IAM::Policy'), idOf('AWS::Lambda::Function')); // through DependsOn
    comesBefore(idOf('AWS::Lambda::Function'), idOf('AWS::ApiGatewayV2::Integration'));
    comesBefore(idOf('AWS::ApiGatewayV2::Integration'), idOf('AWS::ApiGatewayV2::Route'));
    comesBefore(idOf('AWS::ApiGatewayV2::Api'), idOf('AWS::ApiGatewayV2::Stage'));
    expect([...order].sort()).toEqual(Object.keys(resources).sort());
  });

  it('keeps the given order among independent resources', () => {
    const dependencies = new Map([
      ['C', new Set<string>()],
      ['A', new Set<string>()],
      ['B', new Set(['C'])],
    ]);
    expect(dependencyOrder(['B', 'A', 'C'], dependencies, 'x')).toEqual(['C', 'B', 'A']);
  });

  it('names the cycle of resources that refer to each other', () => {
    const template: CfnTemplate = {
      Resources: {
        A: { Type: 'AWS::S3::Bucket', Properties: { Name: { Ref: 'B' } } },
        B: { Type: 'AWS::S3::Bucket', Properties: { Name: { 'Fn::GetAtt': ['C', 'Arn'] } } },
        C: { Type: 'AWS::S3::Bucket', DependsOn: 'A' },
      },
    };
    const act = () => dependencyOrder(['A', 'B', 'C'], resourceDependencies(template), 'resources of S');
    expect(act).toThrow(DependencyCycleError);
    expect(act).toThrow('circular dependency between resources of S: A -> B -> C -> A');
  });

  it('refuses a DependsOn naming a resource the template does not have', () => {
    const template: CfnTemplate = { Resources: { A: { Type: 'AWS::S3::Bucket', DependsOn: ['Ghost'] } } };
    expect(() => resourceDependencies(template)).toThrow(TemplateError);
    expect(() => resourceDependencies(template)).toThrow('Resources.A.DependsOn: Ghost is not a resource');
  });
});

describe('runInDependencyOrder', () => {
  it('starts each piece of work only after its dependencies finished, several at a time', async () => {
    // Prepare: D needs B and C, which both need A.
    const dependencies = new Map([
      ['A', new Set<string>()],
      ['B', new Set(['A'])],
      ['C', new Set(['A'])],
      ['D', new Set(['B', 'C'])],
    ]);
    const events: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const gates = new Map<string, () => void>();
    const work = async (id: string) => {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      events.push(`start ${id}`);
      await new Promise<void>((resolve) => gates.set(id, resolve));
      events.push(`end ${id}`);
      running--;
    };

    // Act: release each piece of work as soon as it is waiting.
    const run = runInDependencyOrder(['A', 'B', 'C', 'D'], dependencies, work, 4);
    const release = async (id: string) => {
      await expect.poll(() => gates.has(id)).toBe(true);
      gates.get(id)?.();
    };
    await release('A');
    await expect.poll(() => gates.has('B') && gates.has('C')).toBe(true);
    await release('B');
    await release('C');
    await release('D');
    await run;

    // Assess
    expect(events.slice(0, 2)).toEqual(['start A', 'end A']);
    expect(events.indexOf('start D')).toBeGreaterThan(events.indexOf('end B'));
    expect(events.indexOf('start D')).toBeGreaterThan(events.indexOf('end C'));
    expect(mostAtOnce).toBe(2);
  });

  it('stops at the first failure and rethrows it, starting nothing that depends on it', async () => {
    const dependencies = new Map([
      ['A', new Set<string>()],
      ['B', new Set(['A'])],
    ]);
    const started: string[] = [];
    const act = runInDependencyOrder(
      ['A', 'B'],
      dependencies,
      async (id) => {
        started.push(id);
        if (id === 'A') throw new Error('A failed');
      },
      2,
    );
    await expect(act).rejects.toThrow('A failed');
    expect(started).toEqual(['A']);
  });
});
