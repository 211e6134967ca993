import type { QueryCommandInput, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

/**
 * Every item of partition `pk` whose sort key starts with `prefix`, read consistently, all pages
 * (DynamoDB answers at most 1 MB per Query page). The config table's one read-everything loop:
 * every store and the conductors read item collections through it. Two other callers page on
 * purpose: the API's list routes (audit, deployments) answer one page and a cursor, and
 * garbage collection (`garbage.ts` `deletePartition`) deletes each page as it reads it, so a
 * 5,000-function partition is never held in memory.
 *
 * @param query sends one Query (the caller's own client and error translation)
 * @param tableName the config table
 * @example
 * const changes = await queryAllByPrefix((input) => doc.send(new QueryCommand(input)), tableName, deploymentPk(ws, id), 'CHANGE#');
 */
export async function queryAllByPrefix<T = Record<string, unknown>>(
  query: (input: QueryCommandInput) => Promise<QueryCommandOutput>,
  tableName: string,
  pk: string,
  prefix: string,
): Promise<T[]> {
  const items: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await query({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ConsistentRead: true,
      ExclusiveStartKey: startKey,
    });
    items.push(...((page.Items ?? []) as T[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
