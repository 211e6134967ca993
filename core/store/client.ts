import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Timeouts and retries of the config-table client. A table that does not answer must give a
 * 503 well within the handler's timeout (API Gateway HTTP APIs wait 30 s at most for an
 * integration), so every call is bounded: connect within {@link StoreClientLimits.connectionTimeoutMs},
 * answer within {@link StoreClientLimits.requestTimeoutMs}, at most
 * {@link StoreClientLimits.maxAttempts} attempts with the SDK's standard backoff.
 * Worst case per call: 3 × (1 s + 3 s) plus backoff, about 13 s.
 */
export const StoreClientLimits = {
  /** TCP connect timeout, in milliseconds. */
  connectionTimeoutMs: 1_000,
  /** Time for a whole request/response once connected, in milliseconds. */
  requestTimeoutMs: 3_000,
  /** Attempts per call, the first included (SDK standard retry mode). */
  maxAttempts: 3,
} as const;

/**
 * Builds the DynamoDB client of the config table, with bounded timeouts and retries
 * ({@link StoreClientLimits}). The endpoint comes from the SDK's own configuration
 * (`AWS_ENDPOINT_URL_DYNAMODB` in the local cloud); `overrides` win over the defaults.
 *
 * @example
 * const doc = createConfigTableDocumentClient(createConfigTableClient());
 */
export function createConfigTableClient(overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: StoreClientLimits.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: StoreClientLimits.connectionTimeoutMs,
      requestTimeout: StoreClientLimits.requestTimeoutMs,
      // Without it, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
    },
    ...overrides,
  });
}

/**
 * The one document client of the config table that every store takes (option `doc`): plain
 * JavaScript values in and out, `undefined` members left out of written items.
 *
 * @param client the table's low-level client @default - {@link createConfigTableClient}`()`
 * @example
 * const drafts = new DraftStore({ doc: createConfigTableDocumentClient(), tableName });
 */
export function createConfigTableDocumentClient(
  client: DynamoDBClient = createConfigTableClient(),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * What every store of the config table is built on: one document client and the table's name.
 * Stores built from the same value share the client and so its connections.
 */
export interface ConfigTableOptions {
  /** Document client of the config table: {@link createConfigTableDocumentClient}. */
  readonly doc: DynamoDBDocumentClient;
  /** Name of the config table (`GRECO_CONFIG_TABLE`). */
  readonly tableName: string;
}
