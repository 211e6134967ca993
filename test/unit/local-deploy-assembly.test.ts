import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnOutput, CfnResource, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnApi, CfnIntegration } from 'aws-cdk-lib/aws-apigatewayv2';
import { UserPool } from 'aws-cdk-lib/aws-cognito';
import { Code, Function as LambdaFunction, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCloudAssembly } from '../../local/deploy/assembly.ts';
import { checkAssemblySupported, deployAssembly } from '../../local/deploy/deployer.ts';
import { LocalDeployError, UnsupportedResourceError } from '../../local/deploy/errors.ts';
import type { DeployServices } from '../../local/deploy/provision/types.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'greco-assembly-'));
  await writeFile(join(dir, 'index.js'), 'exports.handler = async () => "ok";');
  await writeFile(join(dir, 'flow.asl.json'), '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Synthesizes `build`'s stacks into a fresh folder under `dir` and returns the folder. */
function synth(name: string, build: (app: App) => void): string {
  const outdir = join(dir, name);
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  build(app);
  app.synth();
  return outdir;
}

/** Services that fail the test if the deployer calls them: nothing may be created. */
const untouchable = new Proxy({} as DeployServices, {
  get(_target, property) {
    if (property === 'region') return 'us-east-1';
    if (property === 'accountId') return '000000000000';
    throw new Error(`the deployer used services.${String(property)} before refusing the assembly`);
  },
});

describe('readCloudAssembly', () => {
  it('reads stacks in dependency order, their templates, and file assets by object key', async () => {
    // Prepare: Consumer imports an export of Producer; Producer has a code asset and a definition file.
    const outdir = synth('two-stacks', (app) => {
      const consumer = new Stack(app, 'Consumer');
      const producer = new Stack(app, 'Producer');
      new LambdaFunction(producer, 'Fn', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromAsset(dir, { exclude: ['*/**', '*.json'] }),
      });
      new StateMachine(producer, 'Flow', {
        definitionBody: DefinitionBody.fromFile(join(dir, 'flow.asl.json')),
      });
      new CfnOutput(producer, 'Out', { value: 'v', exportName: 'SharedValue' });
      new CfnOutput(consumer, 'In', { value: Fn.importValue('SharedValue') });
      consumer.addDependency(producer);
    });

    // Act
    const assembly = await readCloudAssembly(outdir);

    // Assess
    expect(assembly.stacks.map((stack) => stack.stackName)).toEqual(['Producer', 'Consumer']);
    const producer = assembly.stacks[0];
    const fn = Object.values(producer?.template.Resources ?? {}).find(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const key = String((fn?.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
    expect(assembly.assetsByObjectKey.get(key)).toMatchObject({ packaging: 'zip' });
    const flow = Object.values(producer?.template.Resources ?? {}).find(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    const definitionKey = String(
      (flow?.Properties?.DefinitionS3Location as { Key?: string } | undefined)?.Key,
    );
    expect(assembly.assetsByObjectKey.get(definitionKey)).toMatchObject({ packaging: 'file' });
    expect(fn?.Metadata?.['aws:asset:path']).toEqual(expect.stringMatching(/^asset\./));
  });

  it('refuses a folder that is not a cloud assembly', async () => {
    await expect(readCloudAssembly(dir)).rejects.toThrow(LocalDeployError);
    await expect(readCloudAssembly(dir)).rejects.toThrow('has no manifest.json');
  });
});

describe('checkAssemblySupported', () => {
  it.each([
    [
      'a custom resource',
      (stack: Stack) =>
        new CfnResource(stack, 'Seed', { type: 'Custom::SeedData', properties: { ServiceToken: 'arn:x' } }),
      /Unsupported\/Seed: resource type Custom::SeedData is not supported by the local cloud/,
    ],
    [
      'a Cognito user pool',
      (stack: Stack) => new UserPool(stack, 'Pool'),
      /Unsupported\/Pool[A-F0-9]+: resource type AWS::Cognito::UserPool is not supported by the local cloud/,
    ],
    [
      'an S3 bucket with autoDeleteObjects (a custom resource)',
      (stack: Stack) =>
        new Bucket(stack, 'Bucket', { autoDeleteObjects: true, removalPolicy: RemovalPolicy.DESTROY }),
      /resource type Custom::S3AutoDeleteObjects is not supported/,
    ],
    [
      'a WebSocket API',
      (stack: Stack) =>
        new CfnApi(stack, 'Socket', {
          name: 's',
          protocolType: 'WEBSOCKET',
          routeSelectionExpression: '$request.body.action',
        }),
      /Unsupported\/Socket \(AWS::ApiGatewayV2::Api\): ProtocolType WEBSOCKET is not supported by the local cloud/,
    ],
    [
      'an HTTP_PROXY integration',
      (stack: Stack) =>
        new CfnIntegration(stack, 'Proxy', {
          apiId: 'a',
          integrationType: 'HTTP_PROXY',
          integrationUri: 'https://example.com',
        }),
      /Unsupported\/Proxy \(AWS::ApiGatewayV2::Integration\): IntegrationType HTTP_PROXY is not supported/,
    ],
    [
      'a function with layers',
      (stack: Stack) =>
        new LambdaFunction(stack, 'Layered', {
          runtime: Runtime.NODEJS_22_X,
          handler: 'index.handler',
          code: Code.fromInline('exports.handler = async () => 1;'),
          layers: [
            LayerVersion.fromLayerVersionArn(stack, 'L', 'arn:aws:lambda:us-east-1:000000000000:layer:l:1'),
          ],
        }),
      /Unsupported\/Layered[A-F0-9]+ \(AWS::Lambda::Function\): Lambda layers are not supported/,
    ],
  ])('refuses %s, naming the stack, logical id and type', async (_name, add, message) => {
    // Prepare
    const outdir = synth(`unsupported-${_name.replaceAll(' ', '-')}`, (app) => {
      const supported = new Stack(app, 'Supported');
      new Bucket(supported, 'Fine');
      add(new Stack(app, 'Unsupported'));
    });
    const assembly = await readCloudAssembly(outdir);

    // Act + Assess
    expect(() => checkAssemblySupported(assembly)).toThrow(UnsupportedResourceError);
    expect(() => checkAssemblySupported(assembly)).toThrow(message);
    await expect(deployAssembly({ assembly, services: untouchable })).rejects.toThrow(
      UnsupportedResourceError,
    );
  });

  it('accepts every type a typical greco stack uses', async () => {
    const outdir = synth('supported', (app) => {
      const stack = new Stack(app, 'Supported');
      const bucket = new Bucket(stack, 'Bucket', { versioned: true, enforceSSL: true });
      const fn = new LambdaFunction(stack, 'Fn', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => 1;'),
      });
      bucket.grantRead(fn);
      fn.addFunctionUrl();
    });
    const assembly = await readCloudAssembly(outdir);
    expect(() => checkAssemblySupported(assembly)).not.toThrow();
  });
});
