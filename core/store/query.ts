import type { QueryCommandInput, QueryCommandOutput } from '@aws-sdk/lib-dynamodb';

/**
 * Every item of partition `pk` whose sort key starts with `prefix`, read consistently, all pages.
 *
 * @param query sends one Query (the caller's own client and error translation)
 * @param tableName the config table
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
