/**
 * Per-workspace execution roles end to end in the local cloud: deployments of two workspaces
 * through the management API, the state machine and the Lambda conductor, which creates each
 * workspace's role in the IAM emulator and gives its functions that role and their workspace log
 * group, where their output lands.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  workspaceLogGroupName,
  workspaceRoleName,
  workspaceRolePath,
} from '../../domain/data-plane-roles.ts';
import { managedFunctionName } from '../../domain/names.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { localCredentials, localRegion, waitFor } from '../../local/net.ts';
import { DeploymentDriver } from '../../support/deployments-driver.ts';
import { functionInput } from '../../support/fixtures.ts';

const prefix = 'greco';
let workDir: string;
let cloud: LocalCloud;
let driver: DeploymentDriver;
let iam: IAMClient;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'greco-roles-'));
  cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
  driver = new DeploymentDriver(cloud);
  const config = { region: localRegion, credentials: localCredentials };
  iam = new IAMClient({ ...config, endpoint: cloud.endpoints.iam });
  logs = new CloudWatchLogsClient({ ...config, endpoint: cloud.endpoints.logs });
});

afterAll(async () => {
  iam?.destroy();
  logs?.destroy();
  driver?.close();
  await cloud?.close();
  await rm(workDir, { recursive: true, force: true });
});

/** Deploys one function `api` in `workspace` and waits for the deployment to succeed. */
async function deployApi(workspace: string): Promise<void> {
  const token = await driver.token(workspace);
  const draftId = await driver.draftWith(token, [functionInput('api')]);
  const deploymentId = await driver.deploy(token, draftId);
  const started = await driver.deployment(token, deploymentId);
  const execution = await driver.executionEnd(started.executionArn);
  expect(execution.status, execution.cause).toBe('SUCCEEDED');
}

describe('per-workspace execution roles in the local cloud', () => {
  it("runs each workspace's functions under the workspace's own role and log group", async () => {
    // Prepare
    const workspaces = ['roles-red', 'roles-blue'];

    // Act
    for (const workspace of workspaces) await deployApi(workspace);

    // Assess
    const roles: string[] = [];
    for (const workspace of workspaces) {
      const functionName = managedFunctionName(prefix, workspace, 'api');
      const configuration = await driver.lambda.send(
        new GetFunctionConfigurationCommand({ FunctionName: functionName }),
      );
      const { Role: role } = await iam.send(
        new GetRoleCommand({ RoleName: workspaceRoleName(prefix, workspace) }),
      );
      expect(role?.Path).toBe(workspaceRolePath(prefix));
      expect(role?.PermissionsBoundary?.PermissionsBoundaryArn).toMatch(/^arn:aws:iam::\d{12}:policy\//);
      expect(configuration.Role).toBe(role?.Arn);
      expect(configuration.LoggingConfig).toEqual({
        LogGroup: workspaceLogGroupName(prefix, workspace),
        LogFormat: 'Text',
      });
      roles.push(configuration.Role ?? '');
    }
    expect(new Set(roles).size).toBe(2);
  });

  it("writes a function's output to its workspace log group, one stream per environment named after the function", async () => {
    // Prepare
    const workspace = 'roles-green';
    await deployApi(workspace);
    const functionName = managedFunctionName(prefix, workspace, 'api');

    // Act
    await driver.lambda.send(
      new InvokeCommand({ FunctionName: functionName, Qualifier: 'live', Payload: '{}' }),
    );

    // Assess
    const events = await waitFor(
      async () => {
        const page = await logs.send(
          new FilterLogEventsCommand({ logGroupName: workspaceLogGroupName(prefix, workspace) }),
        );
        const found = page.events ?? [];
        return found.some((event) => event.message?.startsWith('REPORT')) ? found : undefined;
      },
      { timeoutMs: 20_000, what: 'the REPORT line in the workspace log group' },
    );
    expect(events[0]?.logStreamName).toMatch(
      new RegExp(`^\\d{4}/\\d{2}/\\d{2}/${functionName}\\[\\d+\\][0-9a-f]{32}$`),
    );
  });
});
