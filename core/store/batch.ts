import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailableError } from '../../domain/errors.ts';
import { forEachWithConcurrency } from '../../domain/pool.ts';
import { translateUnavailable } from './errors.ts';

/** DynamoDB's BatchWriteItem quota: at most 25 put or delete requests per call. */
export const batchWriteMaxItems = 25;

/** One request of a batch: put an item, or delete one by key. */
export type BatchRequest =
  | { readonly PutRequest: { readonly Item: Record<string, unknown> } }
  | { readonly DeleteRequest: { readonly Key: Record<string, unknown> } };

/** Options of {@link batchWriteAll}. */
export interface BatchWriteOptions {
  /** BatchWriteItem calls in flight at once. @default 4 */
  readonly concurrency?: number;
  /** Calls per chunk before giving up on UnprocessedItems (throttling). @default 8 */
  readonly maxAttempts?: number;
  /** First backoff after UnprocessedItems, in milliseconds; doubles per attempt with jitter. @default 50 */
  readonly baseDelayMs?: number;
}

/**
 * Writes every request with BatchWriteItem, {@link batchWriteMaxItems} per call, a few calls in
 * parallel, and retries `UnprocessedItems` (what DynamoDB hands back under throttling) with
 * exponential backoff and jitter, as the DynamoDB developer guide recommends.
 *
 * Not atomic: on failure some chunks may be written. Callers write only into partitions that
 * nothing references yet (copy-on-write), so a partial write is invisible.
 *
 * @throws ServiceUnavailableError when the table cannot be reached or a chunk stays
 *   unprocessed after `maxAttempts` calls
 */
export async function batchWriteAll(
  doc: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly BatchRequest[],
  options: BatchWriteOptions = {},
): Promise<void> {
  const chunks: BatchRequest[][] = [];
  for (let i = 0; i < requests.length; i += batchWriteMaxItems) {
    chunks.push(requests.slice(i, i + batchWriteMaxItems));
  }
  try {
    await forEachWithConcurrency(chunks, (chunk) => writeChunk(doc, tableName, chunk, options), {
      concurrency: Math.max(1, options.concurrency ?? 4),
    });
  } catch (failure) {
    throw translateUnavailable(failure, 'the config table');
  }
}

async function writeChunk(
  doc: DynamoDBDocumentClient,
  tableName: string,
  chunk: BatchRequest[],
  options: BatchWriteOptions,
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 50;
  let pending: BatchRequest[] = chunk;
  for (let attempt = 1; ; attempt++) {
    const output = await doc.send(
      new BatchWriteCommand({ RequestItems: { [tableName]: pending as NonNullable<unknown>[] } }),
    );
    const unprocessed = (output.UnprocessedItems?.[tableName] ?? []) as BatchRequest[];
    if (unprocessed.length === 0) return;
    if (attempt >= maxAttempts) {
      throw new ServiceUnavailableError(
        `the config table left ${unprocessed.length} items unprocessed after ${attempt} attempts`,
        2,
      );
    }
    pending = unprocessed;
    const delay = baseDelayMs * 2 ** (attempt - 1);
    await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
  }
}
