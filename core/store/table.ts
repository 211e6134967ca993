import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/**
 * Key schema of greco's single config table. `lib/` builds the real table from it and
 * {@link createConfigTable} the local and test ones, so both always agree.
 *
 * - `partitionKey` `pk` (S): the item collection, e.g. `WS#<workspace>`, `SNAP#<ws>#<snapshotId>`.
 * - `sortKey` `sk` (S): the item within it, e.g. `LIVE`, `DRAFT#<draftId>`, `FN#<name>`.
 * - `timeToLiveAttribute` `expiresAt`: epoch seconds after which DynamoDB may delete the item
 *   (for short-lived records such as idempotency keys; model items never carry it).
 */
export const configTableKeys = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
} as const;

/**
 * Creates a config table with {@link configTableKeys} (on-demand billing, TTL on
 * `expiresAt`) and resolves once it is `ACTIVE`. For tests and the local cloud; the deployed
 * table comes from the CDK stack.
 *
 * @param tableName any name DynamoDB accepts (3–255 characters of `[a-zA-Z0-9_.-]`)
 */
export async function createConfigTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: configTableKeys.partitionKey, AttributeType: 'S' },
        { AttributeName: configTableKeys.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: configTableKeys.partitionKey, KeyType: 'HASH' },
        { AttributeName: configTableKeys.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: configTableKeys.timeToLiveAttribute, Enabled: true },
    }),
  );
}

/** Deletes a config table; a table that does not exist is not an error. For tests and the local cloud. */
export async function deleteConfigTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
}
