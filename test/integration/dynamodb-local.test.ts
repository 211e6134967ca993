import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
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
});
