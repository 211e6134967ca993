/**
 * Drives the local cloud with the AWS CLI (`/usr/bin/aws`, Debian's `awscli`), as a user would:
 * list functions, invoke one, start and describe a state machine execution, read and follow a
 * function's logs (`aws logs tail`), and IAM roles (`aws iam`).
 */
import { execFile, spawn } from 'node:child_process';
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
/** What the local cloud's `onFunctionLog` (npm start --verbose) received. */
const functionLines: { group: string; message: string }[] = [];

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
    onFunctionLog: (event) => functionLines.push({ group: event.logGroupName, message: event.message }),
  });
});

afterAll(async () => {
  await cloud?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The environment of every `aws` run: the local credentials and region, no pager, no metadata service. */
function awsEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    AWS_DEFAULT_REGION: localRegion,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Runs `aws <args> --output json` against `endpoint` with the local credentials, and parses its output. */
async function cli(endpoint: string, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(aws, ['--endpoint-url', endpoint, '--output', 'json', ...args], {
    env: awsEnv(),
    timeout: 60_000,
  });
  return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

/** Invokes cli-doubler with the AWS CLI. */
async function invokeDoubler(n: number): Promise<void> {
  await cli(
    cloud.endpoints.lambda,
    'lambda',
    'invoke',
    '--function-name',
    'cli-doubler',
    '--cli-binary-format',
    'raw-in-base64-out',
    '--payload',
    JSON.stringify({ n }),
    join(dir, `invoke-${n}.json`),
  );
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

  it("reads a function's logs with aws logs tail: START, END and REPORT, from /aws/lambda/<name>", async () => {
    // Prepare
    await invokeDoubler(1);

    // Act
    const { stdout } = await run(
      aws,
      [
        '--endpoint-url',
        cloud.endpoints.logs,
        'logs',
        'tail',
        '/aws/lambda/cli-doubler',
        '--format',
        'short',
      ],
      { env: awsEnv(), timeout: 60_000 },
    );
    const groups = await cli(
      cloud.endpoints.logs,
      'logs',
      'describe-log-groups',
      '--log-group-name-prefix',
      '/aws/lambda/',
    );
    const reports = await cli(
      cloud.endpoints.logs,
      'logs',
      'filter-log-events',
      '--log-group-name',
      '/aws/lambda/cli-doubler',
      '--filter-pattern',
      'REPORT',
    );

    // Assess
    expect(stdout).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2} START RequestId: [0-9a-f-]{36} Version: \$LATEST$/m,
    );
    expect(stdout).toMatch(/ END RequestId: /);
    expect(stdout).toMatch(/ REPORT RequestId: .*Duration: /);
    const names = (groups.logGroups as Array<{ logGroupName: string }>).map((group) => group.logGroupName);
    expect(names).toContain('/aws/lambda/cli-doubler');
    const messages = (reports.events as Array<{ message: string }>).map((event) => event.message);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((message) => message.startsWith('REPORT RequestId: '))).toBe(true);
    // The same lines reach onFunctionLog, which npm start --verbose prints.
    expect(functionLines).toContainEqual({
      group: '/aws/lambda/cli-doubler',
      message: expect.stringMatching(/^START RequestId: /),
    });
  });

  it('follows new invocations with aws logs tail --follow', async () => {
    // Prepare
    const since = new Date().toISOString();
    const tail = spawn(
      aws,
      [
        '--endpoint-url',
        cloud.endpoints.logs,
        'logs',
        'tail',
        '/aws/lambda/cli-doubler',
        '--follow',
        '--since',
        since,
      ],
      // Python buffers stdout into a pipe: unbuffered, each event shows as it is printed.
      { env: { ...awsEnv(), PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => tail.once('exit', () => resolve()));
    let out = '';
    let err = '';
    tail.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    tail.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });

    try {
      // Act: an invocation after the follow started, then another one later
      await invokeDoubler(2);
      await waitFor(() => (tail.exitCode !== null ? 'exited' : out.includes(' REPORT RequestId: ')), {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: 'aws logs tail --follow to print the first REPORT line',
      });
      await invokeDoubler(3);
      await waitFor(
        () => (tail.exitCode !== null ? 'exited' : out.split(' REPORT RequestId: ').length === 3),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: 'aws logs tail --follow to print the second REPORT line',
        },
      );

      // Assess
      expect(tail.exitCode, err).toBeNull();
      expect(out.split(' START RequestId: ')).toHaveLength(3);
    } finally {
      tail.kill('SIGINT');
      await exited;
    }
  }, 90_000);

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

  it('creates a role, puts its inline policy and lists it with aws iam', async () => {
    // Prepare
    const trust = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    };
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'logs:*', Resource: '*' }],
    };

    // Act
    const created = await cli(
      cloud.endpoints.iam,
      'iam',
      'create-role',
      '--role-name',
      'cli-role',
      '--path',
      '/cli/',
      '--assume-role-policy-document',
      JSON.stringify(trust),
    );
    await run(
      aws,
      [
        '--endpoint-url',
        cloud.endpoints.iam,
        'iam',
        'put-role-policy',
        '--role-name',
        'cli-role',
        '--policy-name',
        'logs',
        '--policy-document',
        JSON.stringify(policy),
      ],
      { env: awsEnv(), timeout: 60_000 },
    );
    const listed = await cli(cloud.endpoints.iam, 'iam', 'list-roles', '--path-prefix', '/cli/');
    const read = await cli(
      cloud.endpoints.iam,
      'iam',
      'get-role-policy',
      '--role-name',
      'cli-role',
      '--policy-name',
      'logs',
    );

    // Assess
    expect((created.Role as { Arn: string }).Arn).toBe('arn:aws:iam::000000000000:role/cli/cli-role');
    expect(
      (listed.Roles as { RoleName: string; AssumeRolePolicyDocument: unknown }[]).map((r) => r.RoleName),
    ).toEqual(['cli-role']);
    expect(read.PolicyDocument).toEqual(policy);
  });
});
