/**
 * The local cloud: greco on one machine. Starts the emulators, synthesizes the CDK app with
 * local context, deploys the synthesized templates (cdk.out) into the emulators, and writes
 * what a tool needs to talk to it to `.greco/local.json`.
 *
 * @example
 * ```ts
 * const cloud = await startLocalCloud({ ports: 'ephemeral' });
 * const token = await cloud.mintToken({ workspace: 'demo', roles: ['viewer'] });
 * await fetch(`${cloud.apiUrl}v1/functions`, { headers: { authorization: `Bearer ${token}` } });
 * await cloud.close();
 * ```
 */
import { access, constants, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  type LocalCloudEndpoints,
  type LocalStack,
  type LocalStateDocument,
  stateFilePath,
  workDirName,
} from '../contracts/local-state.ts';
import { Roles } from '../domain/roles.ts';
import { startHttpApi } from './apigateway/index.ts';
import { type CloudAssembly, readCloudAssembly, synthesize } from './deploy/assembly.ts';
import { type DeployedStack, type Deployment, deployAssembly } from './deploy/deployer.ts';
import { LocalDeployError } from './deploy/errors.ts';
import { PhysicalNames } from './deploy/names.ts';
import type { DeployClients, DeployServices, HttpEndpointSpec } from './deploy/provision/types.ts';
import { startDynamoDbLocal } from './dynamodb.ts';
import { startEventBridgeEmulator } from './eventbridge/index.ts';
import { startIamEmulator } from './iam/index.ts';
import {
  type FunctionLogEvent,
  type LambdaFaults,
  type RunningLambdaEmulator,
  startLambdaEmulator,
} from './lambda/index.ts';
import { type RunningLogsEmulator, startLogsEmulator } from './logs/index.ts';
import {
  localAccountId,
  localCredentials,
  localRegion,
  type PortReservation,
  randomPortBelowEphemeralRange,
  reservePort,
} from './net.ts';
import { startLocalIssuer } from './oidc.ts';
import { startS3Emulator } from './s3/index.ts';
import { startStepFunctionsEmulator } from './stepfunctions/index.ts';

/** The services of the local cloud that have a port of their own. */
export type LocalService =
  | 'api'
  | 'dynamodb'
  | 's3'
  | 'lambda'
  | 'stepfunctions'
  | 'eventbridge'
  | 'issuer'
  | 'logs'
  | 'iam';

/**
 * Where each service sits in the port block of `npm start`: `<base> + offset`. Further HTTP
 * endpoints (other HTTP APIs, function URLs) take `<base> + 10`, `<base> + 11`, … in deploy order.
 */
export const portOffsets: Readonly<Record<LocalService, number>> = {
  api: 0,
  dynamodb: 1,
  s3: 2,
  lambda: 3,
  stepfunctions: 4,
  eventbridge: 5,
  issuer: 6,
  logs: 7,
  iam: 8,
};

/** Offset of the first port for HTTP endpoints other than the management API. */
export const extraHttpPortOffset = 10;

/** First port of the block `npm start` uses when `--port-base` is not given: 4700 (API) to 4708 (IAM), 4710+ (more endpoints). */
export const defaultPortBase = 4700;

/** The stack whose first HTTP API is "the API" (`apiUrl`, port `<base> + 0`). */
export const managementStackName = 'GrecoControlPlane';

/** The audience the local issuer's tokens carry, and the CDK app's `greco:jwtAudience`. */
export const defaultAudience = 'greco';

/** Progress of {@link startLocalCloud}, one event per step, for the lines `npm start` prints. */
export type LocalCloudProgress =
  | {
      readonly step: 'emulator';
      readonly service: Exclude<LocalService, 'api'>;
      readonly endpoint: string;
      readonly elapsedMs: number;
    }
  | {
      readonly step: 'synth';
      readonly stacks: readonly string[];
      /** True when the app's inputs had not changed and the previous cloud assembly was reused. */
      readonly reused: boolean;
      readonly elapsedMs: number;
    }
  | {
      readonly step: 'stack';
      readonly stackName: string;
      readonly resourceCount: number;
      readonly elapsedMs: number;
    }
  | { readonly step: 'ready'; readonly elapsedMs: number };

/** Options of {@link startLocalCloud}. */
export interface LocalCloudOptions {
  /**
   * `'ephemeral'`: every service on a free port the OS picks (tests). A number: the fixed block
   * starting there (see {@link portOffsets}); a second start on the same block works at once.
   * @default defaultPortBase (4700)
   */
  readonly ports?: 'ephemeral' | number;
  /** The project: its `cdk.json` and CDK app. @default - the folder above local/ */
  readonly projectDir?: string;
  /** Folder for `cdk.out`, `local.json` and `data/`. @default - `<projectDir>/.greco` */
  readonly workDir?: string;
  /** The CDK app's entry, relative to `projectDir`. @default 'bin/greco.ts' */
  readonly app?: string;
  /** Deploy this existing cloud assembly instead of synthesizing the app. @default - synthesize */
  readonly assemblyDir?: string;
  /**
   * Skip the synth when the app's inputs (sources, cdk.json, lock file, context) are unchanged
   * since the cloud assembly in `<workDir>/cdk.out` was written.
   * @default true
   */
  readonly reuseSynth?: boolean;
  /** More CDK context, over the local one. @default - none */
  readonly context?: Readonly<Record<string, unknown>>;
  /**
   * Keep DynamoDB tables (on disk) and S3 objects under `<workDir>/data` (and the Lambda
   * emulator's code cache), and give resources the same names on every start so that they are
   * found again. Lambda functions themselves are created anew at each start.
   * @default false - in memory, gone on close
   */
  readonly persist?: boolean;
  /** The JWT audience of the local issuer and the app. @default defaultAudience ('greco') */
  readonly audience?: string;
  /** Lambda's account-wide control-plane rate limit, in requests per second. @default - the emulator's (15, as AWS) */
  readonly controlPlaneRateLimit?: number;
  /** Write `<workDir>/local.json` (and remove it on close). @default true */
  readonly writeStateFile?: boolean;
  /**
   * Also write `local.json` into this folder (and remove it on close, if it is still this cloud's),
   * so that the CLI finds the local cloud from any folder: `npm start` passes the user-level state
   * folder (`userStateDir()` of contracts/local-state.ts). Not written when `writeStateFile` is false.
   * @default - only in the work folder
   */
  readonly userStateDir?: string;
  /**
   * Called with each line of function output, besides its going to the CloudWatch Logs emulator
   * (`npm start --verbose` prints them). @default - function output goes to CloudWatch Logs only
   */
  readonly onFunctionLog?: (event: FunctionLogEvent) => void;
  /** Called at each step. @default - nothing */
  readonly onProgress?: (event: LocalCloudProgress) => void;
}

/** The emulators {@link LocalCloud.stopService} can stop. */
export type StoppableService = Exclude<LocalService, 'api' | 'issuer'>;

/** What {@link LocalCloud.mintToken} takes. */
export interface MintTokenRequest {
  readonly workspace: string;
  /** @default Roles (domain/roles.ts) */
  readonly roles?: readonly string[];
  /** `sub` claim. @default - the issuer's default subject */
  readonly subject?: string;
}

/** A running local cloud. */
export interface LocalCloud {
  readonly endpoints: LocalCloudEndpoints;
  readonly stacks: Readonly<Record<string, LocalStack>>;
  /** Base URL of the management API, ending with `/` (append `v1/...`), or undefined if the app has none. */
  readonly apiUrl: string | undefined;
  /** Every HTTP endpoint started: HTTP APIs and function URLs, by `<stack>/<logicalId>`. */
  readonly httpEndpoints: Readonly<Record<string, string>>;
  /** JWT audience the API accepts. */
  readonly audience: string;
  /** Path of `local.json`, when written. */
  readonly stateFile: string | undefined;
  /** Lambda emulator controls, for tests and benchmarks. */
  readonly lambda: {
    setFaults(faults: LambdaFaults): void;
    setControlPlaneRateLimit(requestsPerSecond: number): void;
  };
  /**
   * Stops one emulator for good (its port then refuses connections), leaving everything else
   * running: for tests of what keeps working when a service is down, e.g. the hot path with the
   * control plane's table (`'dynamodb'`) and state machine (`'stepfunctions'`) gone. There is no
   * restart; {@link LocalCloud.close} still stops the rest. Stopping a stopped service does nothing.
   */
  stopService(service: StoppableService): Promise<void>;
  /** A signed token of the local issuer that the API accepts. */
  mintToken(request: MintTokenRequest): Promise<string>;
  /** Stops every server and child process it started (the DynamoDB JVM, function processes), then removes `local.json`. Safe to call twice. */
  close(): Promise<void>;
}

/** A fixed port of the block is held by another process. */
export class PortInUseError extends LocalDeployError {
  readonly port: number;
  constructor(port: number, service: string) {
    super(
      `port ${port} (${service}) is already in use: stop what holds it, or choose another block with --port-base`,
    );
    this.name = 'PortInUseError';
    this.port = port;
  }
}

/** `java` is not on PATH: DynamoDB Local cannot run. */
export class JavaMissingError extends LocalDeployError {
  constructor() {
    super(
      'java was not found on PATH: DynamoDB Local needs Java 17 or newer (apt-get install -y openjdk-17-jre-headless)',
    );
    this.name = 'JavaMissingError';
  }
}

/** Checks that an executable `java` is on PATH, before anything is started. */
async function assertJavaOnPath(): Promise<void> {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    try {
      await access(join(folder, 'java'), constants.X_OK);
      return;
    } catch {
      // Not in this folder.
    }
  }
  throw new JavaMissingError();
}

/** The project folder: the one above local/. */
export const defaultProjectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Holds `port` (0: one the OS picks) until the server of `service` takes it over (`reservePort`).
 *
 * @throws PortInUseError when `port` is taken
 */
async function holdPort(port: number, service: string): Promise<PortReservation> {
  try {
    return await reservePort(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(port, service);
    throw error;
  }
}

async function assertPortFree(port: number, service: string): Promise<void> {
  await (await holdPort(port, service)).release();
}

/** Ports of a block that {@link findFreePortBlock} checks: the services and the first extra HTTP endpoints. */
const blockOffsets = [
  ...Object.values(portOffsets),
  extraHttpPortOffset,
  extraHttpPortOffset + 1,
  extraHttpPortOffset + 2,
];

/**
 * A port base whose whole block is free right now, chosen at random from 20000 up to the OS's
 * ephemeral range (32768 on Linux): for benchmarks and tests that start the local cloud the way
 * `npm start` does (a fixed block) without a hard-coded port. The OS never hands those ports out
 * by itself (to `listen(0)` or to an outgoing connection), so the block stays free until the
 * caller starts on it, unless another process picks the same ports on purpose.
 *
 * @throws LocalDeployError when 50 random blocks were all partly taken
 */
export async function findFreePortBlock(): Promise<number> {
  const isFree = (port: number) =>
    assertPortFree(port, 'probe').then(
      () => true,
      () => false,
    );
  const span = Math.max(...blockOffsets) + 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await randomPortBelowEphemeralRange(span);
    const free = await Promise.all(blockOffsets.map((offset) => isFree(base + offset)));
    if (free.every(Boolean)) return base;
  }
  throw new LocalDeployError('no free port block found below the ephemeral port range');
}

/** Closes what was started, last first, and reports every failure together. */
class Closers {
  readonly #closers: Array<{ what: string; close: () => Promise<void> }> = [];

  add(what: string, close: () => Promise<void>): void {
    this.#closers.push({ what, close });
  }

  async closeAll(): Promise<void> {
    const failures: string[] = [];
    const all = this.#closers.splice(0).reverse();
    // Servers first (they may call the processes), then the rest together.
    for (const { what, close } of all) {
      try {
        await close();
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0)
      throw new LocalDeployError(`the local cloud did not stop cleanly: ${failures.join('; ')}`);
  }
}

/**
 * Starts the local cloud: the local OIDC issuer, DynamoDB Local, the S3, Lambda, Step
 * Functions, EventBridge, CloudWatch Logs and IAM emulators; synthesizes the CDK app (`node bin/greco.ts`) with
 * `greco:jwtIssuer` = the local issuer and `greco:jwtAudience`, into `<workDir>/cdk.out`, while
 * the emulators start; deploys every stack into them; writes `<workDir>/local.json`.
 *
 * Functions run with `AWS_ENDPOINT_URL_DYNAMODB`, `_S3`, `_LAMBDA`, `_SFN`, `_EVENTBRIDGE`,
 * `_CLOUDWATCH_LOGS`, `_IAM`, fake credentials and `AWS_REGION`, so handler code reaches the local
 * services unchanged. Their output goes to the CloudWatch Logs emulator, `/aws/lambda/<name>`.
 *
 * On any failure, what was started is stopped before the error is thrown.
 *
 * @throws JavaMissingError when `java` is not on PATH (the message says what to install)
 * @throws PortInUseError when a port of the fixed block is taken
 * @throws DynamoDbLocalError when DynamoDB Local does not start
 * @throws SynthError, UnsupportedResourceError, TemplateError, ResourceCreateError from synth and deploy
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const projectDir = resolve(options.projectDir ?? defaultProjectDir);
  const workDir = resolve(options.workDir ?? join(projectDir, workDirName));
  const audience = options.audience ?? defaultAudience;
  const persist = options.persist ?? false;
  const base = options.ports === 'ephemeral' ? undefined : (options.ports ?? defaultPortBase);

  await assertJavaOnPath();
  // Every port is held from here until its server takes it over (`reservePort`): none is free in
  // between for a parallel process to take. DynamoDB Local (a JVM) cannot take a held socket: on a
  // fixed block its port is checked, otherwise it picks its own and the services that reach it
  // start once its endpoint is known.
  const held: PortReservation[] = [];
  const releaseHeld = async (): Promise<void> => {
    await Promise.all(held.splice(0).map((reservation) => reservation.release()));
  };
  const hold = async (port: number, service: string): Promise<number> => {
    const reservation = await holdPort(port, service);
    held.push(reservation);
    return reservation.port;
  };
  const ports = {} as Record<Exclude<LocalService, 'api' | 'dynamodb'>, number>;
  let managementApiPort: number | undefined;
  try {
    if (base !== undefined) await assertPortFree(base + portOffsets.dynamodb, 'dynamodb');
    for (const service of [
      's3',
      'lambda',
      'stepfunctions',
      'eventbridge',
      'issuer',
      'logs',
      'iam',
    ] as const) {
      ports[service] = await hold(base === undefined ? 0 : base + portOffsets[service], service);
    }
    if (base !== undefined) managementApiPort = await hold(base + portOffsets.api, 'api');
  } catch (error) {
    await releaseHeld();
    throw error;
  }
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const endpoints: { -readonly [K in keyof LocalCloudEndpoints]: string } = {
    dynamodb: '',
    s3: url(ports.s3),
    lambda: url(ports.lambda),
    stepfunctions: url(ports.stepfunctions),
    eventbridge: url(ports.eventbridge),
    logs: url(ports.logs),
    iam: url(ports.iam),
    issuer: '',
  };

  await mkdir(workDir, { recursive: true });
  const dataDir = join(workDir, 'data');
  const eventsFile = join(workDir, 'events.jsonl');
  // Without --persist nothing of a previous local cloud is found again: neither are its events.
  if (!persist) await rm(eventsFile, { force: true });
  if (persist) {
    await mkdir(join(dataDir, 'dynamodb'), { recursive: true });
    await mkdir(join(dataDir, 's3'), { recursive: true });
    await mkdir(join(dataDir, 'lambda'), { recursive: true });
  }

  const closers = new Closers();
  // Run last by closeAll: a port still held then was never taken over (a start that failed).
  closers.add('held ports', releaseHeld);
  const timed = async <T>(run: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> => {
    const at = Date.now();
    const value = await run();
    return { value, elapsedMs: Date.now() - at };
  };
  try {
    const issuerStart = await timed(() => startLocalIssuer({ port: ports.issuer, audience }));
    const issuer = issuerStart.value;
    closers.add('issuer', () => issuer.close());
    endpoints.issuer = issuer.issuer;
    progress({
      step: 'emulator',
      service: 'issuer',
      endpoint: issuer.issuer,
      elapsedMs: issuerStart.elapsedMs,
    });

    // Called once DynamoDB Local runs: its endpoint is known only then.
    const functionEnvironment = (): Record<string, string> => ({
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: endpoints.s3,
      AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
      AWS_ENDPOINT_URL_SFN: endpoints.stepfunctions,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs,
      AWS_ENDPOINT_URL_IAM: endpoints.iam,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_REGION: localRegion,
      AWS_DEFAULT_REGION: localRegion,
    });

    // Each emulator's close, run at most once: by stopService or by close, whichever comes first.
    const stopEmulator = new Map<StoppableService, () => Promise<void>>();
    // Everything below runs together (synth and the JVM are the slow parts); only the Lambda and
    // Step Functions emulators wait for DynamoDB Local, whose endpoint they pass on.
    const startEmulator = async <T extends { endpoint: string; close(): Promise<void> }>(
      service: StoppableService,
      start: () => Promise<T>,
    ): Promise<T> => {
      const { value, elapsedMs } = await timed(start);
      let stopping: Promise<void> | undefined;
      const stop = (): Promise<void> => {
        stopping ??= value.close();
        return stopping;
      };
      stopEmulator.set(service, stop);
      closers.add(service, stop);
      progress({ step: 'emulator', service, endpoint: value.endpoint, elapsedMs });
      return value;
    };
    // The first failure stops the synth at once (its child process included), so that e.g. a
    // missing Java is reported without waiting for the app.
    const abortSynth = new AbortController();
    const guarded = <T>(step: Promise<T>): Promise<T> =>
      step.catch((error: unknown) => {
        abortSynth.abort(error);
        throw error;
      });
    const synthStep = async (): Promise<CloudAssembly> => {
      if (options.assemblyDir !== undefined) return readCloudAssembly(options.assemblyDir);
      const { value, elapsedMs } = await timed(() =>
        synthesize({
          projectDir,
          app: options.app,
          outDir: join(workDir, 'cdk.out'),
          accountId: localAccountId,
          region: localRegion,
          context: {
            'greco:jwtIssuer': issuer.issuer,
            'greco:jwtAudience': audience,
            ...options.context,
          },
          reuse: options.reuseSynth ?? true,
          signal: abortSynth.signal,
        }),
      );
      progress({
        step: 'synth',
        stacks: value.assembly.stacks.map((stack) => stack.stackName),
        reused: value.reused,
        elapsedMs,
      });
      return value.assembly;
    };
    const dynamodbStarted = guarded(
      startEmulator('dynamodb', () =>
        startDynamoDbLocal({
          ...(base === undefined ? {} : { port: base + portOffsets.dynamodb }),
          ...(persist ? { dbPath: join(dataDir, 'dynamodb') } : {}),
        }),
      ).then((dynamodb) => {
        endpoints.dynamodb = dynamodb.endpoint;
        return dynamodb;
      }),
    );
    const afterDynamoDb = <T>(start: () => Promise<T>): Promise<T> => dynamodbStarted.then(start);
    const logsStarted = guarded(startEmulator('logs', () => startLogsEmulator({ port: ports.logs })));
    const onFunctionLog = options.onFunctionLog;
    // Function output goes where Lambda sends it: CloudWatch Logs, `/aws/lambda/<name>`.
    const toLogs =
      (logs: RunningLogsEmulator) =>
      (event: FunctionLogEvent): void => {
        logs.append(event.logGroupName, event.logStreamName, [
          { timestamp: event.timestamp, message: event.message },
        ]);
        onFunctionLog?.(event);
      };
    const results = await Promise.allSettled([
      dynamodbStarted,
      guarded(
        startEmulator('s3', () =>
          startS3Emulator({ port: ports.s3, ...(persist ? { dataDir: join(dataDir, 's3') } : {}) }),
        ),
      ),
      guarded(
        afterDynamoDb(async () => {
          const logs = await logsStarted;
          return startEmulator('lambda', () =>
            startLambdaEmulator({
              port: ports.lambda,
              functionEnvironment: functionEnvironment(),
              functionLogSink: toLogs(logs),
              // CreateFunction / UpdateFunctionCode with S3Bucket + S3Key read the zip from the local S3.
              s3Endpoint: endpoints.s3,
              ...(options.controlPlaneRateLimit === undefined
                ? {}
                : { controlPlaneRateLimit: options.controlPlaneRateLimit }),
              ...(persist ? { dataDir: join(dataDir, 'lambda') } : {}),
            }),
          );
        }),
      ),
      guarded(
        afterDynamoDb(() =>
          startEmulator('stepfunctions', () =>
            startStepFunctionsEmulator({
              port: ports.stepfunctions,
              lambdaEndpoint: endpoints.lambda,
              dynamodbEndpoint: endpoints.dynamodb,
              eventBridgeEndpoint: endpoints.eventbridge,
            }),
          ),
        ),
      ),
      guarded(
        startEmulator('eventbridge', () =>
          startEventBridgeEmulator({
            port: ports.eventbridge,
            lambdaEndpoint: endpoints.lambda,
            stepFunctionsEndpoint: endpoints.stepfunctions,
            tailFile: eventsFile,
          }),
        ),
      ),
      logsStarted,
      synthStep(),
      guarded(startEmulator('iam', () => startIamEmulator({ port: ports.iam }))),
    ]);
    // An emulator's failure (no Java, a port taken) explains a stopped synth: report it first.
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [, , lambdaEmulator, , , , assembly] = results.map(
      (result) => (result as PromiseFulfilledResult<unknown>).value,
    ) as [unknown, unknown, RunningLambdaEmulator, unknown, unknown, unknown, CloudAssembly];

    const clientConfig = { region: localRegion, credentials: localCredentials, maxAttempts: 10 };
    const clients: DeployClients = {
      dynamodb: new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb }),
      s3: new S3Client({ ...clientConfig, endpoint: endpoints.s3, forcePathStyle: true }),
      lambda: new LambdaClient({ ...clientConfig, endpoint: endpoints.lambda }),
      sfn: new SFNClient({ ...clientConfig, endpoint: endpoints.stepfunctions }),
      eventbridge: new EventBridgeClient({ ...clientConfig, endpoint: endpoints.eventbridge }),
    };
    closers.add('SDK clients', async () => {
      for (const client of Object.values(clients)) client.destroy();
    });

    let nextExtraPort = base === undefined ? 0 : base + extraHttpPortOffset;
    const httpEndpoints: Record<string, string> = {};
    const services: DeployServices = {
      clients,
      region: localRegion,
      accountId: localAccountId,
      async reserveHttpPort(owner) {
        if (base === undefined) return hold(0, 'HTTP endpoint');
        if (
          managementApiPort !== undefined &&
          owner.kind === 'api' &&
          owner.stackName === managementStackName
        ) {
          const port = managementApiPort;
          managementApiPort = undefined;
          return port;
        }
        return hold(nextExtraPort++, 'HTTP endpoint');
      },
      async startHttpEndpoint(spec: HttpEndpointSpec) {
        const api = await startHttpApi({
          port: spec.port,
          apiId: spec.apiId,
          stage: spec.stage,
          routes: spec.routes,
          lambdaEndpoint: endpoints.lambda,
        });
        return { url: api.url, close: () => api.close() };
      },
    };
    const deployment: Deployment = await deployAssembly({
      assembly,
      services,
      names: new PhysicalNames({ stable: persist }),
      onStackDeployed: (event) => progress({ step: 'stack', ...event }),
    });
    closers.add('HTTP endpoints', () => deployment.close());

    const stacks: Record<string, LocalStack> = {};
    let apiUrl: string | undefined;
    for (const [stackName, deployed] of Object.entries(deployment.stacks)) {
      stacks[stackName] = describeStack(deployed);
      for (const api of deployed.httpApis) {
        httpEndpoints[`${stackName}/${api.logicalId}`] = api.url;
        if (apiUrl === undefined && stackName === managementStackName) apiUrl = withSlash(api.url);
      }
      for (const [logicalId, resource] of Object.entries(deployed.resources)) {
        const functionUrl = resource.attributes.FunctionUrl;
        if (resource.type === 'AWS::Lambda::Url' && typeof functionUrl === 'string') {
          httpEndpoints[`${stackName}/${logicalId}`] = functionUrl;
        }
      }
    }

    const mintToken = async (request: MintTokenRequest): Promise<string> =>
      issuer.mintToken({
        workspace: request.workspace,
        roles: [...(request.roles ?? Roles)],
        ...(request.subject === undefined ? {} : { subject: request.subject }),
      });

    const stateFile = options.writeStateFile === false ? undefined : stateFilePath(workDir);
    if (stateFile !== undefined) {
      const document = `${JSON.stringify(
        localStateDocument({
          endpoints,
          apiUrl,
          httpEndpoints,
          audience,
          stacks,
          issuer,
          persist,
          workDir,
          eventsFile,
        }),
        null,
        2,
      )}\n`;
      await writeFile(stateFile, document);
      closers.add('local.json', () => removeStateFile(stateFile));
      const userStateFile =
        options.userStateDir === undefined ? undefined : stateFilePath(resolve(options.userStateDir));
      if (userStateFile !== undefined && userStateFile !== stateFile) {
        await mkdir(dirname(userStateFile), { recursive: true });
        await writeFile(userStateFile, document);
        closers.add('user-level local.json', () => removeStateFile(userStateFile));
      }
    }
    progress({ step: 'ready', elapsedMs: Date.now() - started });

    let closing: Promise<void> | undefined;
    return {
      endpoints,
      stacks,
      apiUrl,
      httpEndpoints,
      audience,
      stateFile,
      lambda: {
        setFaults: (faults) => lambdaEmulator.setFaults(faults),
        setControlPlaneRateLimit: (requestsPerSecond) =>
          lambdaEmulator.setControlPlaneRateLimit(requestsPerSecond),
      },
      async stopService(service) {
        const stop = stopEmulator.get(service);
        if (stop === undefined) throw new LocalDeployError(`no emulator named ${service} to stop`);
        await stop();
      },
      mintToken,
      close() {
        closing ??= closers.closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closers.closeAll().catch(() => {});
    throw error;
  }
}

function withSlash(value: string): string {
  return value.endsWith('/') ? value : `${value}/`;
}

function describeStack(deployed: DeployedStack): LocalStack {
  const resources: Record<string, { type: string; physicalId: string; arn?: string }> = {};
  for (const [logicalId, resource] of Object.entries(deployed.resources)) {
    const arn = resource.attributes.Arn;
    resources[logicalId] = {
      type: resource.type,
      physicalId: resource.physicalId,
      ...(typeof arn === 'string' ? { arn } : {}),
    };
  }
  return { outputs: deployed.outputs, resources };
}

/** A curl that mints a token from the local issuer (`POST <issuer>/token`). */
export function tokenCurl(issuer: string, workspace = 'demo', roles: readonly string[] = Roles): string {
  const body = JSON.stringify({ workspace, roles });
  return `curl -s -X POST ${issuer}/token -H 'content-type: application/json' -d '${body}'`;
}

function localStateDocument(input: {
  endpoints: LocalCloudEndpoints;
  apiUrl: string | undefined;
  httpEndpoints: Record<string, string>;
  audience: string;
  stacks: Record<string, LocalStack>;
  issuer: { issuer: string; jwksUri: string };
  persist: boolean;
  workDir: string;
  eventsFile: string;
}): LocalStateDocument {
  return {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    region: localRegion,
    accountId: localAccountId,
    // Named fields, not a spread: the AWS SDK annotates the credentials objects it was given.
    credentials: {
      accessKeyId: localCredentials.accessKeyId,
      secretAccessKey: localCredentials.secretAccessKey,
    },
    persist: input.persist,
    endpoints: input.endpoints,
    workDir: input.workDir,
    eventsFile: input.eventsFile,
    apiUrl: input.apiUrl,
    httpEndpoints: input.httpEndpoints,
    issuer: {
      issuer: input.issuer.issuer,
      jwksUri: input.issuer.jwksUri,
      audience: input.audience,
      tokenUrl: `${input.issuer.issuer}/token`,
    },
    tokenCommand: tokenCurl(input.issuer.issuer),
    stacks: input.stacks,
  };
}

/** Removes `local.json` if it is still the one this process wrote (another start may have replaced it). */
async function removeStateFile(file: string): Promise<void> {
  try {
    const content = JSON.parse(await readFile(file, 'utf8')) as { pid?: number };
    if (content.pid === process.pid) await rm(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}

/**
 * The processes under `rootPid` (children, their children, …), read from /proc. Linux only;
 * used to check that nothing is left behind and to add up the local cloud's memory.
 */
export async function descendantProcesses(rootPid: number = process.pid): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parents.set(pid, Number(fields[1]));
    } catch {
      // The process ended while we read.
    }
  }
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

/** Resident memory of the processes, in bytes (`VmRSS` of /proc/<pid>/status), summed. */
export async function residentBytes(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      if (match?.[1] !== undefined) total += Number(match[1]) * 1024;
    } catch {
      // The process ended while we read.
    }
  }
  return total;
}
