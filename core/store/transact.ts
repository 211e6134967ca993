/**
 * TransactWriteItems on the config table: the item type every store's builders return, and the
 * one runner that translates a cancelled transaction. Which items go together is decided by the
 * store of one aggregate (a draft edit and its audit record) or, across aggregates, by
 * `core/deployments/transactions.ts`.
 *
 * @module
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ServiceUnavailableError } from '../../domain/errors.ts';
import { maxConsistencyRetries } from './access.ts';
import { translateUnavailable } from './errors.ts';

/** One item of a TransactWriteItems call (document-client shape), as the stores' builders return them. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * Runs one TransactWriteItems (at most 100 items, DynamoDB's quota per transaction).
 *
 * - A condition failure (`ConditionalCheckFailed`) calls `onCondition`, which reads what won and
 *   returns the error to throw, or `undefined` when nothing should be thrown: then the
 *   transaction wrote nothing and this answers `false` (the effect may already be there, or the
 *   caller may read again and retry).
 * - A cancellation by a concurrent transaction (`TransactionConflict`) is retried here, up to
 *   {@link maxConsistencyRetries} attempts with jittered backoff.
 *
 * @returns `true` when the transaction was written
 * @throws what `onCondition` returns; ServiceUnavailableError (503) when the table is
 *   unavailable, throttles the transaction or keeps cancelling it
 */
export async function transactWrite(
  doc: DynamoDBDocumentClient,
  items: readonly TransactItem[],
  onCondition: () => Promise<Error | undefined>,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await doc.send(new TransactWriteCommand({ TransactItems: [...items] }));
      return true;
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes.includes('ConditionalCheckFailed')) {
        const translated = await onCondition();
        if (translated === undefined) return false;
        throw translated;
      }
      if (codes.includes('TransactionConflict') && attempt < maxConsistencyRetries) {
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
        continue;
      }
      if (codes.length > 0) {
        throw new ServiceUnavailableError(
          `the config table cancelled the change (${codes.filter((c) => c !== 'None').join(', ')})`,
          1,
          { cause: error },
        );
      }
      throw translateUnavailable(error, 'the config table');
    }
  }
}

/** True when a single conditional write (Put, Update, Delete) failed its condition. */
export function isConditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/** The cancellation reason codes of a TransactionCanceledException (empty for any other error). */
function cancellationCodes(error: unknown): string[] {
  if (!(error instanceof TransactionCanceledException)) return [];
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}
