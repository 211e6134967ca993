/**
 * Drives the hot-path controller in a running local cloud: managed data-plane functions created
 * the way the Lambda conductor creates them, the controller's verbs over HTTP with minted tokens,
 * invocations through the Lambda emulator, its operation counters and the event tail. Used by
 * test/e2e/hotpath*.test.ts and bench/hotpath.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
} from '@aws-sdk/client-lambda';
import { applyCommittedConcurrency } from '../domain/concurrency/protocol.ts';
import { GrecoTags } from '../domain/tags.ts';
import type { LocalCloud } from '../local/cloud.ts';
import { localCredentials, localRegion, waitFor } from '../local/net.ts';
import { sampleZip } from './fixtures.ts';

/** The stack and output that hold the controller's function URL (lib/data-plane-controller-stack.ts). */
export const controllerStackName = 'GrecoDataPlaneController';

/** The hot path's mutating Lambda operations: none of them may run on an idempotent verb. */
export const mutatingOperations = [
  'TagResource',
  'UntagResource',
  'PutFunctionConcurrency',
  'DeleteFunctionConcurrency',
] as const;

/** A managed function to create. */
export interface ManagedFunctionOptions {
  /** The committed reserved concurrency; `undefined`: unreserved (`none`). @default 5 */
  readonly reservedConcurrency?: number | undefined;
  /** Carry greco's tags (`greco:managed` …); false creates an unmanaged function with the same name. @default true */
  readonly managed?: boolean;
}

/** A controller answer: status, headers and JSON body. */
export interface ControllerAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** What an invocation of a data-plane function gave. */
export type InvokeOutcome = 'ok' | 'throttled';

/** A `greco.hotpath` event as the EventBridge emulator's tail file records it. */
export interface TailedEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

/** Clients of one local cloud for the hot path. */
export class HotPathDriver {
  readonly cloud: LocalCloud;
  /** The controller's base URL, ending with `/`. */
  readonly controllerUrl: string;
  /** For setup: retries throttles (the emulator enforces 15 requests/s). */
  readonly lambda: LambdaClient;
  /** For invocations: one attempt, so that a 429 is seen as it is. */
  readonly invoker: LambdaClient;
  readonly managedPrefix: string;
  readonly #workDir: string;

  /**
   * @param workDir the local cloud's work dir (its `events.jsonl`)
   * @throws Error when the cloud has no `ControllerUrl` output
   */
  constructor(cloud: LocalCloud, workDir: string, managedPrefix = 'greco') {
    this.cloud = cloud;
    const url = cloud.stacks[controllerStackName]?.outputs.ControllerUrl;
    if (typeof url !== 'string')
      throw new Error(`the local cloud has no ${controllerStackName} ControllerUrl`);
    this.controllerUrl = url.endsWith('/') ? url : `${url}/`;
    const common = { region: localRegion, credentials: localCredentials, endpoint: cloud.endpoints.lambda };
    this.lambda = new LambdaClient({ ...common, maxAttempts: 10 });
    this.invoker = new LambdaClient({ ...common, maxAttempts: 1 });
    this.managedPrefix = managedPrefix;
    this.#workDir = workDir;
  }

  close(): void {
    this.lambda.destroy();
    this.invoker.destroy();
  }

  /** The Lambda name of a model function: `<prefix>-<workspace>-<name>`. */
  functionName(workspace: string, name: string): string {
    return `${this.managedPrefix}-${workspace}-${name}`;
  }

  /** A token of `workspace` with `roles` (default: operator only). */
  async token(workspace: string, roles: readonly string[] = ['operator']): Promise<string> {
    return this.cloud.mintToken({ workspace, roles });
  }

  /**
   * Creates a data-plane function as the Lambda conductor does: CreateFunction with greco's tags,
   * wait until Active, PublishVersion, a `live` alias, then the committed concurrency through
   * `applyCommittedConcurrency` (the conductor's half of the protocol). Returns the Lambda name.
   */
  async createManagedFunction(
    workspace: string,
    name: string,
    options: ManagedFunctionOptions = {},
  ): Promise<string> {
    const functionName = this.functionName(workspace, name);
    const reservedConcurrency = 'reservedConcurrency' in options ? options.reservedConcurrency : 5;
    const managed = options.managed ?? true;
    await this.lambda.send(
      new CreateFunctionCommand({
        FunctionName: functionName,
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/greco-data-plane',
        Code: { ZipFile: sampleZip(functionName) },
        ...(managed
          ? {
              Tags: {
                [GrecoTags.managed]: 'true',
                [GrecoTags.workspace]: workspace,
                [GrecoTags.functionName]: name,
              },
            }
          : {}),
      }),
    );
    await this.#waitActive(functionName);
    const version = await this.lambda.send(new PublishVersionCommand({ FunctionName: functionName }));
    await this.#waitActive(functionName, version.Version);
    await this.lambda.send(
      new CreateAliasCommand({ FunctionName: functionName, Name: 'live', FunctionVersion: version.Version }),
    );
    if (managed) await applyCommittedConcurrency(this.lambda, functionName, reservedConcurrency);
    return functionName;
  }

  /**
   * Polls until the function (or version) is `Active`, every 50 ms: the SDK waiters wait 5 s
   * between polls, far longer than the emulator's 200 ms transitions.
   */
  async #waitActive(functionName: string, qualifier?: string): Promise<void> {
    await waitFor(
      async () => {
        const configuration = await this.lambda.send(
          new GetFunctionConfigurationCommand({
            FunctionName: functionName,
            ...(qualifier === undefined ? {} : { Qualifier: qualifier }),
          }),
        );
        if (configuration.State === 'Failed')
          throw new Error(`${functionName} failed: ${configuration.StateReason}`);
        return configuration.State === 'Active';
      },
      {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: `${functionName}${qualifier === undefined ? '' : `:${qualifier}`} to be Active`,
      },
    );
  }

  /** `GET /v1/functions/{name}` (`verb` 'state') or `POST .../{verb}`. */
  async verb(
    token: string | undefined,
    name: string,
    verb: 'state' | 'suspend' | 'start',
  ): Promise<ControllerAnswer> {
    const path = `v1/functions/${encodeURIComponent(name)}${verb === 'state' ? '' : `/${verb}`}`;
    const response = await fetch(`${this.controllerUrl}${path}`, {
      method: verb === 'state' ? 'GET' : 'POST',
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  /**
   * Invokes a data-plane function (or its alias) once, without retries.
   * @returns 'ok' when it ran, 'throttled' on 429 TooManyRequestsException
   * @throws the SDK error of any other failure, or Error when the function itself failed
   */
  async invoke(functionName: string, qualifier?: string): Promise<InvokeOutcome> {
    try {
      const answer = await this.invoker.send(
        new InvokeCommand({
          FunctionName: functionName,
          ...(qualifier === undefined ? {} : { Qualifier: qualifier }),
        }),
      );
      if (answer.FunctionError !== undefined) {
        throw new Error(`${functionName} failed: ${new TextDecoder().decode(answer.Payload)}`);
      }
      return 'ok';
    } catch (error) {
      const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (name === 'TooManyRequestsException' && $metadata?.httpStatusCode === 429) return 'throttled';
      throw error;
    }
  }

  /** The Lambda emulator's request count per operation (`GET /_greco/stats`). */
  async operationCounts(): Promise<Record<string, number>> {
    const response = await fetch(`${this.cloud.endpoints.lambda}/_greco/stats`);
    return ((await response.json()) as { operations: Record<string, number> }).operations;
  }

  /** How many mutating hot-path operations the emulator received between two {@link operationCounts}. */
  static mutatingCallsBetween(before: Record<string, number>, after: Record<string, number>): number {
    return mutatingOperations.reduce((sum, op) => sum + (after[op] ?? 0) - (before[op] ?? 0), 0);
  }

  /** `greco.hotpath` events recorded in the cloud's `events.jsonl`, oldest first. */
  async hotPathEvents(): Promise<TailedEvent[]> {
    let text: string;
    try {
      text = await readFile(join(this.#workDir, 'events.jsonl'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as TailedEvent)
      .filter((event) => event.source === 'greco.hotpath');
  }
}
