/**
 * A conductor's view of one deployment in the config table: the change set (`CHANGE#<name>`, written
 * by the deployment steps' "begin") and the conductor's own progress (`RESULT#<conductor>#<name>`).
 * Progress writes are conditional, so that a re-run after a crash, or two overlapping runs, can
 * only move a change forward (pending → staged/vetoed → committed, or → aborted).
 *
 * @module
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { changeSkPrefix, deploymentPk, resultSk, resultSkPrefix } from '../../deployments/keys.ts';
import type { ChangeItem, Reason, ResultItem } from '../../deployments/types.ts';
import { queryAllByPrefix } from '../../store/query.ts';

/** Where a deployment's records are. */
export interface DeploymentRecords {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly workspace: string;
  readonly deploymentId: string;
}

/**
 * What prepare did to one change so far, i.e. what abort must undo: the fields of a
 * {@link ResultItem} an adapter fills in while staging.
 */
export interface Staging {
  /** Prepare created the resource (abort deletes it). */
  created: boolean;
  /** Prepare published {@link version} itself (abort deletes it). */
  published: boolean;
  /** The version prepare published or found, e.g. `"3"`. */
  version?: string;
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

/** Every item of the deployment partition whose sort key starts with `prefix`, keys stripped. */
async function queryPrefix(records: DeploymentRecords, prefix: string): Promise<Record<string, unknown>[]> {
  const items = await queryAllByPrefix(
    (input) => records.doc.send(new QueryCommand(input)),
    records.tableName,
    deploymentPk(records.workspace, records.deploymentId),
    prefix,
  );
  return items.map(({ pk: _pk, sk: _sk, ...item }) => item);
}

/** The deployment's change set, by name in sort-key order. */
export async function loadChanges(records: DeploymentRecords): Promise<ChangeItem[]> {
  const items = await queryPrefix(records, changeSkPrefix);
  return items.map((change) => change as unknown as ChangeItem);
}

/** A conductor's progress items, by function name. */
export async function loadResults(
  records: DeploymentRecords,
  conductor: string,
): Promise<Map<string, ResultItem>> {
  const items = await queryPrefix(records, resultSkPrefix(conductor));
  const results = new Map<string, ResultItem>();
  for (const result of items) {
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
    await records.doc.send(
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
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The fields of a progress item besides its conductor, name, phase and status. */
export interface ResultFields extends Partial<Staging> {
  readonly reasons?: readonly Reason[];
}

/**
 * Builds a progress item; absent fields are left out (never written as `undefined`).
 *
 * @param updatedAt ISO 8601 UTC
 */
export function resultItem(
  conductor: string,
  name: string,
  phase: ResultItem['phase'],
  status: ResultItem['status'],
  attempts: number,
  updatedAt: string,
  fields: ResultFields = {},
): ResultItem {
  return {
    conductor,
    name,
    phase,
    status,
    ...(fields.version === undefined ? {} : { version: fields.version }),
    ...(fields.created === undefined ? {} : { created: fields.created }),
    ...(fields.published === undefined ? {} : { published: fields.published }),
    ...(fields.reasons === undefined ? {} : { reasons: fields.reasons }),
    attempts,
    updatedAt,
  };
}

/** What a progress item says prepare staged (the {@link Staging} fields it carries). */
export function stagingOf(result: ResultItem): Partial<Staging> {
  return {
    ...(result.created === undefined ? {} : { created: result.created }),
    ...(result.published === undefined ? {} : { published: result.published }),
    ...(result.version === undefined ? {} : { version: result.version }),
  };
}
