import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { inject, vi } from 'vitest';
import { ArtifactStore } from '../../core/artifacts.ts';
import type { HttpEvent, HttpResponse } from '../../core/http/types.ts';
import { AuditLog } from '../../core/store/audit.ts';
import { type ConfigTableOptions, createConfigTableDocumentClient } from '../../core/store/client.ts';
import { DraftStore } from '../../core/store/drafts.ts';
import { GarbageCollector } from '../../core/store/garbage.ts';
import { LiveModels, SnapshotStore } from '../../core/store/snapshots.ts';
import { createConfigTable, deleteConfigTable } from '../../core/store/table.ts';
import { EnvNames } from '../../domain/env.ts';
import { localCredentials, localRegion } from '../../local/net.ts';
import { startS3Emulator } from '../../local/s3/index.ts';
import { type HttpApiEventInit, httpApiEvent, lambdaContext } from './http-api-event.ts';
import { scanTableSnapshot } from './table-snapshot.ts';

/** A handler's answer, with the body parsed when it is JSON. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies freely
  readonly body: any;
}

/** A management handler as the Lambda runtime calls it. */
export type ApiLambdaHandler = (
  event: HttpEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<HttpResponse>;
type Handler = ApiLambdaHandler;

/**
 * Three of the four management handlers (functions, drafts, audit; the deployments handler is
 * wired by `test/integration/deployments-harness.ts`), on a fresh table and bucket on the local
 * services, with the stores of that table.
 */
export interface ManagementApiHarness {
  readonly tableName: string;
  readonly bucket: string;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  /** A client of the same DynamoDB Local, for seeding and inspection. */
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  /** The stores of the same table, for seeding and inspection. */
  readonly drafts: DraftStore;
  /** Seeds live models with `snapshots.setLiveModel`. */
  readonly snapshots: SnapshotStore;
  readonly live: LiveModels;
  readonly audit: AuditLog;
  readonly garbage: GarbageCollector;
  readonly artifacts: ArtifactStore;
  /** The real handler modules, by route group (the path segment after `/v1/`). */
  readonly handlers: Readonly<Record<'functions' | 'drafts' | 'audit', ApiLambdaHandler>>;
  /** Calls the handler that owns the route, as API Gateway would. */
  call(init: HttpApiEventInit): Promise<ApiAnswer>;
  /** Every item of the table, sorted: compare two of these to prove nothing was written. */
  scanTable(): Promise<string[]>;
  /** Every object key in the artifacts bucket, sorted. */
  listArtifacts(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Starts what the management handlers need (a new table on the run's DynamoDB Local, an S3
 * emulator with a bucket), points the handlers' environment at them and imports the real
 * handler modules fresh. Call from `beforeAll`; `close()` in `afterAll` drops the table and
 * stops the emulator.
 */
export async function startManagementApi(): Promise<ManagementApiHarness> {
  const dynamodbEndpoint = inject('dynamodbEndpoint');
  const s3Emulator = await startS3Emulator();
  const suffix = crypto.randomUUID().slice(0, 8);
  const tableName = `greco-test-${suffix}`;
  const bucket = `greco-artifacts-${suffix}`;
  const dynamodb = new DynamoDBClient({
    endpoint: dynamodbEndpoint,
    region: localRegion,
    credentials: localCredentials,
  });
  const s3 = new S3Client({
    endpoint: s3Emulator.endpoint,
    region: localRegion,
    credentials: localCredentials,
    forcePathStyle: true,
  });
  await createConfigTable(dynamodb, tableName);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  Object.assign(process.env, {
    [EnvNames.configTable]: tableName,
    [EnvNames.artifactsBucket]: bucket,
    [EnvNames.managedPrefix]: 'greco',
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
    AWS_ENDPOINT_URL_S3: s3Emulator.endpoint,
    AWS_REGION: localRegion,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
  });
  vi.resetModules();
  const handlers = {
    functions: (await import('../../lambdas/functions-api/index.ts')).handler as unknown as Handler,
    drafts: (await import('../../lambdas/drafts-api/index.ts')).handler as unknown as Handler,
    audit: (await import('../../lambdas/audit-api/index.ts')).handler as unknown as Handler,
  };

  const table: ConfigTableOptions = { doc: createConfigTableDocumentClient(dynamodb), tableName };
  return {
    tableName,
    bucket,
    dynamodbEndpoint,
    s3Endpoint: s3Emulator.endpoint,
    dynamodb,
    s3,
    drafts: new DraftStore(table),
    snapshots: new SnapshotStore(table),
    live: new LiveModels(table),
    audit: new AuditLog(table),
    garbage: new GarbageCollector(table),
    artifacts: new ArtifactStore({ client: s3, bucket }),
    handlers,
    async call(init) {
      const path = init.routeKey.split(' ')[1] ?? '';
      const handler = path.startsWith('/v1/functions')
        ? handlers.functions
        : path.startsWith('/v1/audit')
          ? handlers.audit
          : handlers.drafts;
      return answerOf(await handler(httpApiEvent(init), lambdaContext()));
    },
    scanTable: () => scanTableSnapshot(dynamodb, tableName),
    async listArtifacts() {
      const keys: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken }));
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        ContinuationToken = page.NextContinuationToken;
      } while (ContinuationToken !== undefined);
      return keys.sort();
    },
    async close() {
      await deleteConfigTable(dynamodb, tableName);
      dynamodb.destroy();
      s3.destroy();
      await s3Emulator.close();
    },
  };
}

/** A structured handler result as a test reads it. */
export function answerOf(response: HttpResponse): ApiAnswer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  const text = response.body ?? '';
  const isJson = /json/.test(headers['content-type'] ?? '') && text !== '';
  return { status: response.statusCode, headers, body: isJson ? JSON.parse(text) : text };
}
