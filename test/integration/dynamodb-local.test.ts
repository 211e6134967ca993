import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbLocalError, startDynamoDbLocal } from '../../local/dynamodb.ts';
import { localCredentials, localRegion } from '../../local/net.ts';

describe('DynamoDB Local from the test run', () => {
  const client = new DynamoDBClient({
    endpoint: inject('dynamodbEndpoint'),
    region: localRegion,
    credentials: localCredentials,
  });
  afterAll(() => client.destroy());

  it('creates and describes a table through the real SDK client', async () => {
    const TableName = `probe-${crypto.randomUUID()}`;
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    await client.send(new DeleteTableCommand({ TableName }));
  });

  it('refuses to start without java, saying what to install', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const attempt = startDynamoDbLocal({ startTimeoutMs: 60_000 });
      await expect(attempt).rejects.toBeInstanceOf(DynamoDbLocalError);
      await expect(attempt).rejects.toThrow(/java was not found on PATH.*Java 17/);
    } finally {
      process.env.PATH = path;
    }
  });
});
