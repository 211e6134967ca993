import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

/**
 * Every item of a table as sorted canonical JSON lines (keys sorted at every level), read
 * consistently: two snapshots are equal exactly when the table holds the same items. Tests use it
 * to show that a refused request wrote nothing.
 */
export async function scanTableSnapshot(dynamodb: DynamoDBClient, tableName: string): Promise<string[]> {
  const items: string[] = [];
  let ExclusiveStartKey: Record<string, never> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey }),
    );
    for (const item of page.Items ?? []) items.push(JSON.stringify(sortKeys(item)));
    ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (ExclusiveStartKey !== undefined);
  return items.sort();
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}
