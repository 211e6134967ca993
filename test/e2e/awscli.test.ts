/**
 * Drives the local cloud with the AWS CLI (`/usr/bin/aws`, Debian's `awscli`), as a user would:
 * list functions, invoke one, start and describe a state machine execution.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { DefinitionBody, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { localCredentials, localRegion, waitFor } from '../../local/net.ts';

const aws = '/usr/bin/aws';
const run = promisify(execFile);

let dir: string;
let cloud: LocalCloud;

beforeAll(async () => {
  if (!existsSync(aws)) {
    throw new Error(
      `${aws} is missing: this test drives the local cloud with the AWS CLI; install it with apt-get install -y awscli`,
    );
  }
  dir = await mkdtemp(join(tmpdir(), 'greco-awscli-'));
  const code = join(dir, 'code');
  await mkdir(code);
  await writeFile(
    join(code, 'index.mjs'),
    'export const handler = async (event) => ({ doubled: (event.n ?? 0) * 2 });',
  );
  const app = new App({ outdir: join(dir, 'cdk.out'), context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Cli');
  const fn = new LambdaFunction(stack, 'Doubler', {
    functionName: 'cli-doubler',
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromAsset(code),
  });
  const machine = new StateMachine(stack, 'Flow', {
    definitionBody: DefinitionBody.fromChainable(
      new LambdaInvoke(stack, 'Double', { lambdaFunction: fn, payloadResponseOnly: true }),
    ),
  });
  new CfnOutput(stack, 'FlowArn', { value: machine.stateMachineArn });
  app.synth();
  cloud = await startLocalCloud({
    ports: 'ephemeral',
    workDir: join(dir, 'work'),
    assemblyDir: join(dir, 'cdk.out'),
  });
});

afterAll(async () => {
  await cloud?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Runs `aws <args> --output json` against `endpoint` with the local credentials, and parses its output. */
async function cli(endpoint: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(aws, ['--endpoint-url', endpoint, '--output', 'json', ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_DEFAULT_REGION: localRegion,
      AWS_PAGER: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    timeout: 60_000,
  });
  return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

describe('the AWS CLI against the local cloud', () => {
  it('lists the deployed functions', async () => {
    const listed = await cli(cloud.endpoints.lambda, 'lambda', 'list-functions');
    const names = (listed.Functions as Array<{ FunctionName: string }>).map((fn) => fn.FunctionName);
    expect(names).toContain('cli-doubler');
  });

  it('invokes a function', async () => {
    const out = join(dir, 'invoke-out.json');
    const result = await cli(
      cloud.endpoints.lambda,
      'lambda',
      'invoke',
      '--function-name',
      'cli-doubler',
      '--cli-binary-format',
      'raw-in-base64-out',
      '--payload',
      '{"n":21}',
      out,
    );
    expect(result.StatusCode).toBe(200);
    expect(result.FunctionError).toBeUndefined();
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual({ doubled: 42 });
  });

  it('starts an execution and describes it until it succeeds', async () => {
    const stateMachineArn = cloud.stacks.Cli?.outputs.FlowArn as string;
    const started = await cli(
      cloud.endpoints.stepfunctions,
      'stepfunctions',
      'start-execution',
      '--state-machine-arn',
      stateMachineArn,
      '--name',
      `cli-${Date.now()}`,
      '--input',
      '{"n":5}',
    );
    const executionArn = started.executionArn as string;
    expect(executionArn).toMatch(/^arn:aws:states:us-east-1:000000000000:execution:/);
    const described = await waitFor(
      async () => {
        const execution = await cli(
          cloud.endpoints.stepfunctions,
          'stepfunctions',
          'describe-execution',
          '--execution-arn',
          executionArn,
        );
        if (execution.status === 'FAILED') throw new Error(`execution failed: ${String(execution.cause)}`);
        return execution.status === 'SUCCEEDED' ? execution : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'the execution to succeed' },
    );
    expect(JSON.parse(described.output as string)).toEqual({ doubled: 10 });
  });
});
