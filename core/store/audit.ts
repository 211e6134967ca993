/**
 * The audit log of a workspace: one append-only record per change, in partition `AUDIT#<ws>`,
 * sorted by time. Records are written only inside the transaction of the change they record
 * ({@link AuditLog.auditItem}), so a change that fails leaves no record and a record always
 * describes a change that happened.
 *
 * @module
 */
import { decodeCursor, encodeCursor, queryPage, withoutKeys } from './access.ts';
import type { ConfigTableOptions } from './client.ts';
import type { TransactItem } from './transact.ts';
import type { AuditAction, AuditPage, AuditRecord, ChangeContext } from './types.ts';

/** Partition of a workspace's audit log. */
export const auditPk = (ws: string): string => `AUDIT#${ws}`;

/** What a change says about itself in its audit record. */
export type AuditEntry = Pick<AuditRecord, 'action' | 'target' | 'detail'> & { readonly draftId?: string };

/** Sort keys of audit records: `<ISO time>#<sequence>-<uuid>` (see {@link AuditLog.auditItem}). */
const auditSkPattern = /^\d{4}-\d\d-\d\dT[^#]+#[0-9a-f-]+$/;

/**
 * Reads the audit log and builds its records' transaction items.
 *
 * @example
 * const page = await new AuditLog({ doc, tableName }).listAudit('acme', { limit: 50 });
 */
export class AuditLog {
  readonly #table: ConfigTableOptions;
  #lastAuditAt = '';
  #auditSequence = 0;

  constructor(options: ConfigTableOptions) {
    this.#table = { doc: options.doc, tableName: options.tableName };
  }

  /**
   * One page of the audit log of `ws`, newest first.
   *
   * @param options.limit records per page, 1–1000 (checked by the caller) @default 50
   * @param options.cursor `nextCursor` of the previous page
   * @throws ValidationError (400, field `cursor`) for a cursor this store did not produce;
   *   ServiceUnavailableError (503)
   */
  async listAudit(ws: string, options: { limit?: number; cursor?: string } = {}): Promise<AuditPage> {
    const startSk =
      options.cursor === undefined
        ? undefined
        : decodeCursor(options.cursor, (sk) => auditSkPattern.test(sk));
    const page = await queryPage(this.#table, {
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': auditPk(ws) },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: options.limit ?? 50,
      ExclusiveStartKey: startSk === undefined ? undefined : { pk: auditPk(ws), sk: startSk },
    });
    const records = (page.Items ?? []).map((item) => withoutKeys(item) as unknown as AuditRecord);
    const lastSk = page.LastEvaluatedKey?.sk;
    return typeof lastSk === 'string' ? { records, nextCursor: encodeCursor(lastSk) } : { records };
  }

  /**
   * Transaction item: an append-only audit record of `ws` (it can never overwrite one), result
   * `succeeded`: it is written with the change or not at all.
   *
   * The sort key is the time, then a sequence number that keeps this log's own records of one
   * millisecond in order, then a random part that keeps concurrent writers' keys apart
   * (`attribute_not_exists` makes a collision fail rather than overwrite).
   *
   * @param at ISO 8601 UTC time of the change
   */
  auditItem(ws: string, context: ChangeContext, at: string, entry: AuditEntry): TransactItem {
    const record: AuditRecord & { action: AuditAction } = {
      at,
      actor: context.actor,
      action: entry.action,
      target: entry.target,
      ...(entry.draftId === undefined ? {} : { draftId: entry.draftId }),
      requestId: context.requestId,
      result: 'succeeded',
      detail: entry.detail,
    };
    this.#auditSequence = at === this.#lastAuditAt ? this.#auditSequence + 1 : 0;
    this.#lastAuditAt = at;
    const sk = `${at}#${String(this.#auditSequence).padStart(6, '0')}-${crypto.randomUUID()}`;
    return {
      Put: {
        TableName: this.#table.tableName,
        Item: { pk: auditPk(ws), sk, ...record },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
}
