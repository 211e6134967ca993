import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../core/store/audit.ts';
import { batchWriteAll } from '../../core/store/batch.ts';
import { createConfigTableDocumentClient } from '../../core/store/client.ts';
import { DraftStore } from '../../core/store/drafts.ts';
import { isServiceUnavailable, translateUnavailable } from '../../core/store/errors.ts';
import { ServiceUnavailableError } from '../../domain/errors.ts';
import { functionSpec } from '../support/fixtures.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const client = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const context = { actor: { sub: 'u1' }, requestId: 'r1' };

beforeEach(() => ddb.reset());
afterEach(() => ddb.reset());

function head(version: number, state = 'open') {
  return {
    pk: 'WS#acme',
    sk: 'DRAFT#d1',
    draftId: 'd1',
    version,
    state,
    baseOwned: false,
    baseEpoch: 0,
    overlayId: 'o1',
    functionCount: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: { sub: 'u0' },
    updatedAt: '2026-01-01T00:00:00.000Z',
    updatedBy: { sub: 'u0' },
  };
}

function cancelled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe('isServiceUnavailable', () => {
  it.each([
    {
      title: 'throttling',
      error: new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }),
      expected: true,
    },
    {
      title: 'a refused connection',
      error: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      expected: true,
    },
    {
      title: 'a request timeout',
      error: Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      expected: true,
    },
    {
      title: 'HTTP 500',
      error: Object.assign(new Error('x'), { $metadata: { httpStatusCode: 500 } }),
      expected: true,
    },
    {
      title: 'a missing table',
      error: Object.assign(new Error('x'), { name: 'ResourceNotFoundException' }),
      expected: true,
    },
    {
      title: 'a wrapped network error',
      error: new Error('outer', { cause: Object.assign(new Error('in'), { code: 'ECONNRESET' }) }),
      expected: true,
    },
    {
      title: 'a failed condition',
      error: Object.assign(new Error('x'), {
        name: 'ConditionalCheckFailedException',
        $metadata: { httpStatusCode: 400 },
      }),
      expected: false,
    },
    {
      title: 'a validation error',
      error: Object.assign(new Error('x'), {
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
      }),
      expected: false,
    },
    { title: 'a plain bug', error: new TypeError('undefined is not a function'), expected: false },
    { title: 'not an error', error: 'boom', expected: false },
  ])('says $expected for $title', ({ error, expected }) => {
    expect(isServiceUnavailable(error)).toBe(expected);
  });

  it('translates only transient errors, into a 503 with Retry-After', () => {
    const translated = translateUnavailable(
      Object.assign(new Error('x'), { code: 'ETIMEDOUT' }),
      'the config table',
    );
    expect(translated).toBeInstanceOf(ServiceUnavailableError);
    expect((translated as ServiceUnavailableError).headers).toEqual({ 'Retry-After': '5' });
    const bug = new TypeError('bug');
    expect(translateUnavailable(bug, 'the config table')).toBe(bug);
  });
});

describe('batchWriteAll', () => {
  const doc = DynamoDBDocumentClient.from(client);
  const requests = Array.from({ length: 60 }, (_, i) => ({ PutRequest: { Item: { pk: 'p', sk: `s${i}` } } }));

  it('writes 25 items per call and retries what DynamoDB leaves unprocessed', async () => {
    let unprocessedOnce = true;
    ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
      const items = input.RequestItems.t ?? [];
      if (unprocessedOnce && items.length === 25) {
        unprocessedOnce = false;
        return { UnprocessedItems: { t: items.slice(20) } };
      }
      return { UnprocessedItems: {} };
    });
    await batchWriteAll(doc, 't', requests, { baseDelayMs: 1, concurrency: 1 });
    const sizes = ddb
      .commandCalls(BatchWriteCommand)
      .map((call) => call.args[0].input.RequestItems?.t?.length);
    expect(sizes).toEqual([25, 5, 25, 10]);
  });

  it('gives up with a 503 when items stay unprocessed', async () => {
    ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({
      UnprocessedItems: input.RequestItems,
    }));
    await expect(
      batchWriteAll(doc, 't', requests.slice(0, 5), { baseDelayMs: 1, maxAttempts: 3 }),
    ).rejects.toThrow(ServiceUnavailableError);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });
});

describe("the stores' error paths", () => {
  const table = { doc: createConfigTableDocumentClient(client), tableName: 't' };
  const drafts = new DraftStore(table);
  const audit = new AuditLog(table);

  beforeEach(() => {
    ddb.on(QueryCommand).resolves({ Items: [] });
  });

  it('retries a transaction cancelled by a concurrent one (TransactionConflict)', async () => {
    ddb.on(GetCommand).resolves({ Item: head(1) });
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('TransactionConflict', 'None', 'None'))
      .resolves({});
    const { draft, created } = await drafts.putDraftFunction('acme', 'd1', functionSpec('f1'), 1, context);
    expect(draft.version).toBe(2);
    expect(created).toBe(true);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('turns a failed version condition into 412 with the current ETag', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: head(1) })
      .resolves({ Item: head(3) });
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None'));
    await expect(drafts.putDraftFunction('acme', 'd1', functionSpec('f1'), 1, context)).rejects.toMatchObject(
      {
        status: 412,
        extensions: { currentETag: '"3"' },
      },
    );
  });

  it('turns a draft deleted meanwhile into 404, and a frozen one into 409', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled('ConditionalCheckFailed', 'None', 'None'));
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: head(1) })
      .resolves({});
    await expect(drafts.putDraftFunction('acme', 'd1', functionSpec('f1'), 1, context)).rejects.toMatchObject(
      {
        status: 404,
      },
    );
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: head(1) })
      .resolves({ Item: head(1, 'frozen') });
    await expect(drafts.putDraftFunction('acme', 'd1', functionSpec('f1'), 1, context)).rejects.toMatchObject(
      {
        status: 409,
      },
    );
  });

  it('retries If-Match: * when the draft moved between read and write', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: head(1) })
      .resolvesOnce({ Item: head(2) })
      .resolves({ Item: head(2) });
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('ConditionalCheckFailed', 'None', 'None'))
      .resolves({});
    const { draft } = await drafts.putDraftFunction('acme', 'd1', functionSpec('f1'), '*', context);
    expect(draft.version).toBe(3);
  });

  it('answers 503 when the table throttles, and when a transaction is throttled', async () => {
    ddb
      .on(GetCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    await expect(drafts.getDraftSummary('acme', 'd1')).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': '5' },
    });
    ddb.on(GetCommand).resolves({ Item: head(1) });
    ddb.on(TransactWriteCommand).rejects(cancelled('ThrottlingError', 'None', 'None'));
    await expect(drafts.putDraftFunction('acme', 'd1', functionSpec('f1'), 1, context)).rejects.toMatchObject(
      {
        status: 503,
      },
    );
  });

  it('refuses an audit cursor it did not make', async () => {
    await expect(
      audit.listAudit('acme', { cursor: Buffer.from('{"sk":"WS#other"}').toString('base64url') }),
    ).rejects.toMatchObject({
      status: 400,
      errors: [{ field: 'cursor', message: expect.any(String) }],
    });
  });
});
