/**
 * Key layout of the config table (see {@link configTableKeys}). Each aggregate's module owns
 * its keys; this is the map of the whole table:
 *
 * | pk | sk | item | owner |
 * |---|---|---|---|
 * | `WS#<ws>` | `LIVE` | live head: `{ epoch, snapshotId }` | `snapshots.ts` |
 * | `SNAP#<ws>#<snapshotId>` | `FN#<name>` | one function of an immutable snapshot | `snapshots.ts` |
 * | `WS#<ws>` | `DRAFT#<draftId>` | draft head | `drafts.ts` |
 * | `OVL#<ws>#<draftId>#<overlayId>` | `FN#<name>#<version>` | one single-function edit (or tombstone) of a draft, at the draft version it made | `drafts.ts` |
 * | `AUDIT#<ws>` | `<ISO time>#<unique>` | one audit record | `audit.ts` |
 * | `WS#<ws>` | `PENDING#<partition>` | a partition being written (an orphan if it stays) | `garbage.ts` |
 * | `WS#<ws>` | `GARBAGE#<partition>` | a superseded partition, to delete | `garbage.ts` |
 * | `WS#<ws>`, `DEPLOY#<ws>#<id>` | `LOCK`, `DEPLOY#…`, `EPOCH#…`, `CHANGE#…`, `RESULT#…` | deployments | `core/deployments/keys.ts` |
 *
 * Workspace ids, draft ids and function names never contain `#` (they are validated before
 * they reach a key), so keys cannot collide.
 *
 * @module
 */

/** The partition holding a workspace's heads and bookkeeping records. */
export const workspacePk = (ws: string): string => `WS#${ws}`;

/**
 * Ids that can appear in a key (draft ids, function names): 1–128 characters of
 * `[A-Za-z0-9_-]`. Anything else cannot exist, so a read of it answers "not found" without a call.
 */
export const keySafeId = /^[A-Za-z0-9_-]{1,128}$/;

/** Code-unit order, as DynamoDB sorts ASCII sort keys: the order of every list the stores return by name. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
