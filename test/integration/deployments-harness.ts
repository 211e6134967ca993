/**
 * What the deployments tests share: a fresh config table on the run's DynamoDB Local, an S3
 * emulator with a snapshots bucket, an EventBridge emulator with the bus (events collected),
 * a Step Functions emulator with a stand-in state machine that waits (so executions stay
 * RUNNING and can be counted), and the stores, steps and API handlers wired to them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import { DeploymentEvents } from '../../core/deployments/events.ts';
import { deploymentPk, resultSk } from '../../core/deployments/keys.ts';
import { DeploymentSteps } from '../../core/deployments/steps.ts';
import type { DeploymentStore } from '../../core/deployments/store.ts';
import { createDeploymentStores, type DeploymentStores } from '../../core/deployments/transactions.ts';
import type { ConductorRegistration, ResultItem } from '../../core/deployments/types.ts';
import { apiHandler } from '../../core/http/api-handler.ts';
import { apiLogger } from '../../core/http/middlewares.ts';
import { auditRoutes } from '../../core/http/routes/audit.ts';
import { deploymentsRoutes } from '../../core/http/routes/deployments.ts';
import { draftsRoutes } from '../../core/http/routes/drafts.ts';
import { functionsRoutes } from '../../core/http/routes/functions.ts';
import type { HttpEvent, HttpResponse } from '../../core/http/types.ts';
import type { AuditLog } from '../../core/store/audit.ts';
import type { DraftStore } from '../../core/store/drafts.ts';
import { GarbageCollector } from '../../core/store/garbage.ts';
import type { LiveModels, SnapshotStore } from '../../core/store/snapshots.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import {
  type EventBridgeEvent,
  type RunningEventBridgeEmulator,
  startEventBridgeEmulator,
} from '../../local/eventbridge/index.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import { type S3Emulator, startS3Emulator } from '../../local/s3/index.ts';
import {
  type RunningStepFunctionsEmulator,
  startStepFunctionsEmulator,
} from '../../local/stepfunctions/index.ts';
import { type HttpApiEventInit, httpApiEvent, lambdaContext } from '../support/http-api-event.ts';
import { type ApiAnswer, answerOf } from '../support/management-api.ts';
import { scanTableSnapshot } from '../support/table-snapshot.ts';

export const conductors: readonly ConductorRegistration[] = [
  { name: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:greco-lambda-conductor' },
];

/** The running services and what is wired to them. */
export interface DeploymentsHarness {
  readonly tableName: string;
  readonly snapshotsBucket: string;
  readonly eventBusName: string;
  readonly stateMachineArn: string;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly eventBridgeEndpoint: string;
  readonly stepFunctionsEndpoint: string;
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly sfn: SFNClient;
  readonly eventBridge: EventBridgeClient;
  /** The deployment's aggregates on the table, as the steps and the deployments API get them. */
  readonly stores: DeploymentStores;
  readonly deployments: DeploymentStore;
  readonly drafts: DraftStore;
  /** Seeds live models with `snapshots.setLiveModel`. */
  readonly snapshots: SnapshotStore;
  readonly live: LiveModels;
  readonly audit: AuditLog;
  readonly garbage: GarbageCollector;
  readonly steps: DeploymentSteps;
  /** Every event put on the bus so far, in order. */
  readonly events: EventBridgeEvent[];
  /**
   * Calls the route's handler (deployments, drafts, functions, audit) as API Gateway would;
   * `sfn` and `twoPersonRule` configure the deployments API for this call.
   */
  call(init: HttpApiEventInit, options?: { sfn?: SFNClient; twoPersonRule?: boolean }): Promise<ApiAnswer>;
  /** The steps over another bus (e.g. one that does not exist). */
  stepsOnBus(eventBusName: string): DeploymentSteps;
  /** Writes what the Lambda conductor records when it staged `name` at `version`. */
  stageResult(ws: string, deploymentId: string, name: string, version: string): Promise<void>;
  /** An object of the snapshots bucket, parsed; `undefined` when absent. */
  readObject(key: string): Promise<unknown>;
  /** Every item of the table, sorted: compare two of these to prove nothing was written. */
  scanTable(): Promise<string[]>;
  close(): Promise<void>;
}

type Handler = (event: HttpEvent, context: ReturnType<typeof lambdaContext>) => Promise<HttpResponse>;

/** Starts the services and wires a harness; `close()` in `afterAll`. */
export async function startDeploymentsHarness(): Promise<DeploymentsHarness> {
  // The 503 tests make the API log warnings on purpose.
  apiLogger.setLogLevel('ERROR');
  const dynamodbEndpoint = inject('dynamodbEndpoint');
  const suffix = crypto.randomUUID().slice(0, 8);
  const tableName = `greco-deploy-${suffix}`;
  const snapshotsBucket = `greco-snapshots-${suffix}`;
  const eventBusName = 'greco';
  const events: EventBridgeEvent[] = [];

  const s3Emulator: S3Emulator = await startS3Emulator();
  const eventBridgeEmulator: RunningEventBridgeEmulator = await startEventBridgeEmulator({
    logSink: () => {},
  });
  const sfnEmulator: RunningStepFunctionsEmulator = await startStepFunctionsEmulator({ dynamodbEndpoint });
  const unsubscribe = eventBridgeEmulator.subscribe((event, meta) => {
    if (meta.eventBusName === eventBusName) events.push(event);
  });
  const common = { region: localRegion, credentials: localCredentials };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: dynamodbEndpoint });
  const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  const s3 = new S3Client({ ...common, endpoint: s3Emulator.endpoint, forcePathStyle: true });
  const sfn = new SFNClient({ ...common, endpoint: sfnEmulator.endpoint, maxAttempts: 1 });
  const eventBridge = new EventBridgeClient({
    ...common,
    endpoint: eventBridgeEmulator.endpoint,
    maxAttempts: 1,
  });

  await createConfigTable(dynamodb, tableName);
  await s3.send(new CreateBucketCommand({ Bucket: snapshotsBucket }));
  await eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  // A stand-in for deployment.asl.json: it only waits, so an execution stays RUNNING.
  const { stateMachineArn } = await sfn.send(
    new CreateStateMachineCommand({
      name: `greco-deployment-${suffix}`,
      roleArn: 'arn:aws:iam::000000000000:role/greco-deployment',
      definition: JSON.stringify({
        StartAt: 'Hold',
        States: { Hold: { Type: 'Wait', Seconds: 3600, End: true } },
      }),
    }),
  );

  const stores = createDeploymentStores({ doc, tableName });
  const stepsOnBus = (bus: string) =>
    new DeploymentSteps({
      stores,
      s3,
      snapshotsBucket,
      events: new DeploymentEvents({ client: eventBridge, eventBusName: bus }),
      conductors,
    });
  const artifacts = new ArtifactStore({ client: s3, bucket: snapshotsBucket });
  const handlersFor = (client: SFNClient, twoPersonRule = false): Record<string, Handler> => ({
    deployments: apiHandler(
      deploymentsRoutes({
        stores,
        sfn: client,
        stateMachineArn: stateMachineArn as string,
        managedPrefix: 'greco',
        twoPersonRule,
      }),
    ) as unknown as Handler,
    drafts: apiHandler(
      draftsRoutes({ drafts: stores.drafts, live: stores.live, artifacts, managedPrefix: 'greco' }),
    ) as unknown as Handler,
    functions: apiHandler(functionsRoutes({ live: stores.live })) as unknown as Handler,
    audit: apiHandler(auditRoutes({ audit: stores.audit })) as unknown as Handler,
  });
  const handlers = handlersFor(sfn);

  return {
    tableName,
    snapshotsBucket,
    eventBusName,
    stateMachineArn: stateMachineArn as string,
    dynamodbEndpoint,
    s3Endpoint: s3Emulator.endpoint,
    eventBridgeEndpoint: eventBridgeEmulator.endpoint,
    stepFunctionsEndpoint: sfnEmulator.endpoint,
    dynamodb,
    doc,
    s3,
    sfn,
    eventBridge,
    stores,
    deployments: stores.deployments,
    drafts: stores.drafts,
    snapshots: stores.snapshots,
    live: stores.live,
    audit: stores.audit,
    garbage: new GarbageCollector({ doc, tableName }),
    steps: stepsOnBus(eventBusName),
    events,
    async call(init, options = {}) {
      const path = init.routeKey.split(' ')[1] ?? '';
      const group =
        options.sfn === undefined && options.twoPersonRule === undefined
          ? handlers
          : handlersFor(options.sfn ?? sfn, options.twoPersonRule);
      const handler =
        path.endsWith('/deployments') || path.startsWith('/v1/deployments')
          ? group.deployments
          : path.startsWith('/v1/functions')
            ? group.functions
            : path.startsWith('/v1/audit')
              ? group.audit
              : group.drafts;
      return answerOf(await (handler as Handler)(httpApiEvent(init), lambdaContext()));
    },
    stepsOnBus,
    async stageResult(ws, deploymentId, name, version) {
      const item: ResultItem = {
        conductor: 'lambda',
        name,
        phase: 'prepare',
        status: 'staged',
        version,
        created: true,
        attempts: 1,
        updatedAt: new Date().toISOString(),
      };
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: deploymentPk(ws, deploymentId), sk: resultSk('lambda', name), ...item },
        }),
      );
    },
    async readObject(key) {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: snapshotsBucket, Key: key }));
        return JSON.parse((await object.Body?.transformToString('utf-8')) ?? 'null');
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    scanTable: () => scanTableSnapshot(dynamodb, tableName),
    async close() {
      unsubscribe();
      await deleteConfigTable(dynamodb, tableName);
      for (const client of [dynamodb, s3, sfn, eventBridge]) client.destroy();
      await sfnEmulator.close();
      await eventBridgeEmulator.close();
      await s3Emulator.close();
    },
  };
}
