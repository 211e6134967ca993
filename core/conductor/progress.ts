/**
 * A conductor's view of one deployment in the config table: the change set (`CHANGE#<name>`, written
 * by the deployment steps' "begin") and the conductor's own progress (`RESULT#<conductor>#<name>`).
 * Progress writes are conditional, so that a re-run after a crash, or two overlapping runs, can
 * only move a change forward (pending → staged/vetoed → committed, or → aborted).
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { changeSkPrefix, deploymentPk, resultSk, resultSkPrefix } from '../deployments/keys.ts';
import type { ChangeItem, ResultItem } from '../deployments/types.ts';

/** Where a deployment's records are. */
export interface DeploymentRecords {
  readonly ddb: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly workspace: string;
  readonly deploymentId: string;
}

/** What a progress write requires of the item it replaces. */
export type ResultPrecondition =
  /** No item yet, or one still `pending` (prepare). */
  | 'new-or-pending'
  /** An item `staged` or already `committed` (commit). */
  | 'staged-or-committed'
  /** An item that is not `committed` (abort). */
  | 'not-committed';

const conditions: Record<ResultPrecondition, { expression: string; values: Record<string, string> }> = {
  'new-or-pending': {
    expression: 'attribute_not_exists(pk) OR #status = :pending',
    values: { ':pending': 'pending' },
  },
  'staged-or-committed': {
    expression: '#status IN (:staged, :committed)',
    values: { ':staged': 'staged', ':committed': 'committed' },
  },
  'not-committed': {
    expression: 'attribute_exists(pk) AND #status <> :committed',
    values: { ':committed': 'committed' },
  },
};

/** Reads every item of the deployment partition whose sort key starts with `prefix` (consistent reads, all pages). */
async function queryPrefix(records: DeploymentRecords, prefix: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await records.ddb.send(
      new QueryCommand({
        TableName: records.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': deploymentPk(records.workspace, records.deploymentId),
          ':prefix': prefix,
        },
        ConsistentRead: true,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/** The deployment's change set, by name in sort-key order. */
export async function loadChanges(records: DeploymentRecords): Promise<ChangeItem[]> {
  const items = await queryPrefix(records, changeSkPrefix);
  return items.map(({ pk: _pk, sk: _sk, ...change }) => change as unknown as ChangeItem);
}

/** A conductor's progress items, by function name. */
export async function loadResults(
  records: DeploymentRecords,
  conductor: string,
): Promise<Map<string, ResultItem>> {
  const items = await queryPrefix(records, resultSkPrefix(conductor));
  const results = new Map<string, ResultItem>();
  for (const { pk: _pk, sk: _sk, ...result } of items) {
    const item = result as unknown as ResultItem;
    results.set(item.name, item);
  }
  return results;
}

/**
 * Writes one progress item if the one it replaces meets `precondition`.
 *
 * @returns `true` when written, `false` when the precondition failed (another run moved the change on)
 */
export async function putResult(
  records: DeploymentRecords,
  result: ResultItem,
  precondition: ResultPrecondition,
): Promise<boolean> {
  const condition = conditions[precondition];
  try {
    await records.ddb.send(
      new PutCommand({
        TableName: records.tableName,
        Item: {
          pk: deploymentPk(records.workspace, records.deploymentId),
          sk: resultSk(result.conductor, result.name),
          ...result,
        },
        ConditionExpression: condition.expression,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: condition.values,
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
