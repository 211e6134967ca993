/**
 * Drives deployments in a running local cloud: the management API over HTTP with minted tokens,
 * the execution history through @aws-sdk/client-sfn, and the data plane (Lambda emulator, S3
 * snapshots and marker) to check that it agrees with the live model. Used by
 * test/e2e/deployments*.test.ts and bench/deploy.ts.
 */
import { GetAliasCommand, LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import type { EpochMarker, EpochSnapshot } from '../core/deployments/types.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { localCredentials, localRegion, waitFor } from '../local/net.ts';

/** Statuses after which a deployment changes no more (CommitIncomplete waits for an operator). */
export const terminalStatuses = ['Committed', 'Vetoed', 'Aborted', 'CommitIncomplete'] as const;

/** A deployment as `GET /v1/deployments/{id}` answers it (the fields the tests read). */
export interface DeploymentAnswer {
  readonly deploymentId: string;
  readonly status: string;
  readonly targetEpoch: number;
  readonly executionArn: string;
  readonly votes: Record<
    string,
    { vote: string; reasons: { code: string; function?: string; message: string }[] }
  >;
  readonly functions?: { name: string; status: string; reasons: { code: string }[] }[];
  readonly error?: { error: string; cause: string };
}

/** The live model as `GET /v1/functions` answers it. */
export interface LiveAnswer {
  readonly epoch: number;
  readonly functions: { name: string; reservedConcurrency?: number; memoryMiB: number }[];
}

/** Clients of one local cloud and the API calls of a workspace. */
export class DeploymentDriver {
  readonly cloud: LocalCloud;
  readonly sfn: SFNClient;
  readonly lambda: LambdaClient;
  readonly s3: S3Client;
  readonly snapshotsBucket: string;
  readonly managedPrefix: string;

  constructor(cloud: LocalCloud, managedPrefix = 'greco') {
    this.cloud = cloud;
    const common = { region: localRegion, credentials: localCredentials };
    this.sfn = new SFNClient({ ...common, endpoint: cloud.endpoints.stepfunctions });
    this.lambda = new LambdaClient({ ...common, endpoint: cloud.endpoints.lambda, maxAttempts: 10 });
    this.s3 = new S3Client({ ...common, endpoint: cloud.endpoints.s3, forcePathStyle: true });
    const outputs = cloud.stacks.GrecoControlPlane?.outputs ?? {};
    this.snapshotsBucket = String(outputs.SnapshotsBucketName);
    this.managedPrefix = managedPrefix;
  }

  close(): void {
    this.sfn.destroy();
    this.lambda.destroy();
    this.s3.destroy();
  }

  /** A token of `workspace` with every role the tests need (viewer, editor, approver). */
  async token(workspace: string): Promise<string> {
    return this.cloud.mintToken({ workspace, roles: ['viewer', 'editor', 'approver'] });
  }

  /** One API call; the answer's JSON body (or undefined) and status. */
  async call(
    token: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown; headers: Headers }> {
    const response = await fetch(`${this.cloud.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text === '' ? undefined : JSON.parse(text),
      headers: response.headers,
    };
  }

  /** Creates a draft holding `functions` (function inputs); returns its id. */
  async draftWith(token: string, functions: readonly Record<string, unknown>[]): Promise<string> {
    const created = await this.call(token, 'POST', 'v1/drafts', { functions });
    if (created.status !== 201) {
      throw new Error(`POST /v1/drafts: ${created.status} ${JSON.stringify(created.body)}`);
    }
    return (created.body as { draftId: string }).draftId;
  }

  /** `POST /v1/drafts/{id}/deployments`, expecting 202; returns the deployment id. */
  async deploy(token: string, draftId: string): Promise<string> {
    const answer = await this.call(token, 'POST', `v1/drafts/${draftId}/deployments`);
    if (answer.status !== 202)
      throw new Error(`deploy ${draftId}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return (answer.body as { deploymentId: string }).deploymentId;
  }

  async deployment(token: string, deploymentId: string): Promise<DeploymentAnswer> {
    const answer = await this.call(token, 'GET', `v1/deployments/${deploymentId}`);
    if (answer.status !== 200)
      throw new Error(`GET deployment: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as DeploymentAnswer;
  }

  async live(token: string): Promise<LiveAnswer> {
    const answer = await this.call(token, 'GET', 'v1/functions');
    if (answer.status !== 200)
      throw new Error(`GET /v1/functions: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as LiveAnswer;
  }

  /**
   * Waits until the execution has ended and returns it. Returns at once when it has ended, so a
   * failed execution fails its test immediately rather than at a timeout.
   */
  async executionEnd(executionArn: string, timeoutMs = 120_000): Promise<DescribeExecutionCommandOutput> {
    return waitFor(
      async () => {
        const execution = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return execution.status === 'RUNNING' ? undefined : execution;
      },
      { timeoutMs, intervalMs: 200, what: `execution ${executionArn} to end` },
    );
  }

  /** Every event of the execution's history, oldest first. */
  async history(executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return events;
  }

  /** Names of the states the execution entered, in order (Map iterations included). */
  async enteredStates(executionArn: string): Promise<string[]> {
    return (await this.history(executionArn)).flatMap((event) =>
      event.type?.endsWith('StateEntered') && event.stateEnteredEventDetails?.name !== undefined
        ? [event.stateEnteredEventDetails.name]
        : [],
    );
  }

  /** Managed functions of `workspace` in the Lambda emulator, by model name. */
  async dataPlaneFunctions(workspace: string): Promise<Map<string, string>> {
    const prefix = `${this.managedPrefix}-${workspace}-`;
    const found = new Map<string, string>();
    for await (const page of paginateListFunctions({ client: this.lambda }, {})) {
      for (const fn of page.Functions ?? []) {
        if (fn.FunctionName?.startsWith(prefix))
          found.set(fn.FunctionName.slice(prefix.length), fn.FunctionName);
      }
    }
    return found;
  }

  async readJson<T>(key: string): Promise<T | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.snapshotsBucket, Key: key }));
      return JSON.parse(await (object.Body?.transformToString() ?? Promise.resolve('null'))) as T;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /**
   * Checks that the data plane agrees with the live model of `workspace`: the epoch marker names
   * the live epoch, its snapshot lists exactly the live functions, every live function exists in
   * the Lambda emulator with a `live` alias on the snapshot's version, and no other managed
   * function of the workspace exists (nothing staged by a failed deployment remains).
   *
   * @returns a list of disagreements, empty when everything agrees
   */
  async disagreements(workspace: string, token: string): Promise<string[]> {
    const problems: string[] = [];
    const live = await this.live(token);
    const marker = await this.readJson<EpochMarker>(`markers/${workspace}.json`);
    const dataPlane = await this.dataPlaneFunctions(workspace);
    const liveNames = live.functions.map((f) => f.name).sort();
    if (live.epoch === 0) {
      if (marker !== undefined) problems.push(`epoch 0 but a marker names epoch ${marker.epoch}`);
      if (dataPlane.size > 0)
        problems.push(`epoch 0 but functions exist: ${[...dataPlane.keys()].join(', ')}`);
      return problems;
    }
    if (marker?.epoch !== live.epoch)
      problems.push(`marker epoch ${marker?.epoch} != live epoch ${live.epoch}`);
    const snapshot =
      marker === undefined ? undefined : await this.readJson<EpochSnapshot>(marker.snapshotKey);
    if (snapshot === undefined) return [...problems, 'no snapshot for the marker'];
    if (snapshot.epoch !== live.epoch) problems.push(`snapshot epoch ${snapshot.epoch} != ${live.epoch}`);
    const snapshotNames = snapshot.functions.map((f) => f.name).sort();
    if (JSON.stringify(snapshotNames) !== JSON.stringify(liveNames)) {
      problems.push(`snapshot functions ${snapshotNames.join(',')} != live ${liveNames.join(',')}`);
    }
    for (const name of liveNames) {
      const route = snapshot.routing[name];
      if (route === undefined) {
        problems.push(`${name}: no route in the snapshot`);
        continue;
      }
      if (!dataPlane.has(name)) {
        problems.push(`${name}: no function ${route.functionName}`);
        continue;
      }
      try {
        const alias = await this.lambda.send(
          new GetAliasCommand({ FunctionName: route.functionName, Name: 'live' }),
        );
        if (alias.FunctionVersion !== route.version) {
          problems.push(`${name}: live -> ${alias.FunctionVersion}, snapshot says ${route.version}`);
        }
      } catch (error) {
        problems.push(`${name}: GetAlias live: ${(error as Error).name}`);
      }
    }
    // Functions deleted by an earlier epoch stay for the retention, without a `live` alias; any
    // other function outside the live model was staged by a failed deployment and left behind.
    const earlier = new Set<string>();
    for (let epoch = 1; epoch < live.epoch; epoch += 1) {
      const old = await this.readJson<EpochSnapshot>(
        `snapshots/${workspace}/${String(epoch).padStart(10, '0')}.json`,
      );
      for (const fn of old?.functions ?? []) earlier.add(fn.name);
    }
    for (const [name, functionName] of dataPlane) {
      if (liveNames.includes(name)) continue;
      if (!earlier.has(name)) {
        problems.push(`${name}: exists in Lambda but in no epoch`);
        continue;
      }
      const alias = await this.lambda
        .send(new GetAliasCommand({ FunctionName: functionName, Name: 'live' }))
        .then(
          (found) => found.FunctionVersion,
          () => undefined,
        );
      if (alias !== undefined) problems.push(`${name}: deleted from the model but live -> ${alias}`);
    }
    return problems;
  }
}

/** Whether a deployment status is one of {@link terminalStatuses}. */
export function isTerminal(status: string): boolean {
  return (terminalStatuses as readonly string[]).includes(status);
}
