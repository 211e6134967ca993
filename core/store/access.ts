/**
 * The config table's single calls, shared by every store built on one
 * {@link ConfigTableOptions}: consistent reads, the paginated prefix query, puts and deletes,
 * and the opaque sort-key cursors of paged lists. Transient SDK failures (network, timeouts,
 * throttling, 5xx) become `ServiceUnavailableError` (503 with `Retry-After`) here, so that no
 * store handles SDK errors of that kind itself.
 *
 * @module
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../domain/errors.ts';
import type { ConfigTableOptions } from './client.ts';
import { translateUnavailable } from './errors.ts';
import { queryAllByPrefix } from './query.ts';

/**
 * Attempts when a read sees a head move under it, or a transaction meets a concurrent one
 * (`TransactionConflict`), before answering 503 (greco's choice: contention that outlasts five
 * attempts is load the caller should back off from).
 */
export const maxConsistencyRetries = 5;

/**
 * Runs one SDK call on the config table.
 * @throws ServiceUnavailableError (503) when the table is unreachable, throttled or failing;
 *   any other error unchanged
 */
export async function guardTable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw translateUnavailable(error, 'the config table');
  }
}

/** One item by key, read consistently; `undefined` when there is none. @throws ServiceUnavailableError (503) */
export async function getItem<T>(table: ConfigTableOptions, pk: string, sk: string): Promise<T | undefined> {
  const { Item } = await guardTable(() =>
    table.doc.send(new GetCommand({ TableName: table.tableName, Key: { pk, sk }, ConsistentRead: true })),
  );
  return Item as T | undefined;
}

/** One Query page of the config table (`TableName` is the table's). @throws ServiceUnavailableError (503) */
export async function queryPage(
  table: ConfigTableOptions,
  input: Omit<QueryCommandInput, 'TableName'>,
): Promise<QueryCommandOutput> {
  return guardTable(() => table.doc.send(new QueryCommand({ ...input, TableName: table.tableName })));
}

/**
 * Every item of partition `pk` whose sort key starts with `prefix`, read consistently, all
 * pages: {@link queryAllByPrefix} on this table. @throws ServiceUnavailableError (503)
 */
export async function queryPrefix<T = Record<string, unknown>>(
  table: ConfigTableOptions,
  pk: string,
  prefix: string,
): Promise<T[]> {
  return queryAllByPrefix<T>((input) => queryPage(table, input), table.tableName, pk, prefix);
}

/** Puts one item unconditionally (`item` carries its `pk` and `sk`). @throws ServiceUnavailableError (503) */
export async function putItem(table: ConfigTableOptions, item: Record<string, unknown>): Promise<void> {
  await guardTable(() => table.doc.send(new PutCommand({ TableName: table.tableName, Item: item })));
}

/** Deletes one item by key; a missing item is not an error. @throws ServiceUnavailableError (503) */
export async function deleteItem(table: ConfigTableOptions, pk: string, sk: string): Promise<void> {
  await guardTable(() => table.doc.send(new DeleteCommand({ TableName: table.tableName, Key: { pk, sk } })));
}

/** An item without its table keys (`pk`, `sk`): the record as callers see it. */
export function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

/**
 * The cursor of a paged list: the last sort key read, opaque to clients (base64url JSON). It
 * carries only the sort key: the partition is always the caller's own workspace's.
 */
export function encodeCursor(sk: string): string {
  return Buffer.from(JSON.stringify({ sk }), 'utf8').toString('base64url');
}

/**
 * The sort key in a cursor made by {@link encodeCursor}.
 *
 * @param accepts whether a sort key can come from the list the cursor is for
 * @throws ValidationError (400, field `cursor`) for anything else
 */
export function decodeCursor(cursor: string, accepts: (sk: string) => boolean): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { sk?: unknown };
    if (typeof parsed.sk === 'string' && accepts(parsed.sk)) return parsed.sk;
  } catch {
    // falls through to the error below
  }
  throw new ValidationError([
    { field: 'cursor', message: 'is not a cursor from a previous page of this list' },
  ]);
}
