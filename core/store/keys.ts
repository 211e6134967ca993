/**
 * Key layout of the config table (see {@link configTableKeys}). One workspace's records:
 *
 * | pk | sk | item |
 * |---|---|---|
 * | `WS#<ws>` | `LIVE` | live head: `{ epoch, snapshotId }` |
 * | `WS#<ws>` | `DRAFT#<draftId>` | draft head |
 * | `WS#<ws>` | `PENDING#<partition>` | a partition being written (an orphan if it stays) |
 * | `WS#<ws>` | `GARBAGE#<partition>` | a superseded partition, to delete |
 * | `SNAP#<ws>#<snapshotId>` | `FN#<name>` | one function of an immutable snapshot |
 * | `OVL#<ws>#<draftId>#<overlayId>` | `FN#<name>#<version>` | one single-function edit (or tombstone) of a draft, at the draft version it made |
 * | `AUDIT#<ws>` | `<ISO time>#<unique>` | one audit record |
 *
 * Workspace ids, draft ids and function names never contain `#` (they are validated before
 * they reach a key), so keys cannot collide.
 *
 * @module
 */

/** The partition holding a workspace's heads and bookkeeping records. */
export const workspacePk = (ws: string): string => `WS#${ws}`;
/** Sort key of the live head. */
export const liveSk = 'LIVE';
/** Sort key of a draft head. */
export const draftSk = (draftId: string): string => `DRAFT#${draftId}`;
/** Prefix of every draft head's sort key. */
export const draftSkPrefix = 'DRAFT#';
/** Partition of one immutable snapshot. */
export const snapshotPk = (ws: string, snapshotId: string): string => `SNAP#${ws}#${snapshotId}`;
/** Partition of one draft overlay. */
export const overlayPk = (ws: string, draftId: string, overlayId: string): string =>
  `OVL#${ws}#${draftId}#${overlayId}`;
/** Sort key of one function in a snapshot or overlay partition. */
export const functionSk = (name: string): string => `FN#${name}`;
/** Prefix of every function's sort key. */
export const functionSkPrefix = 'FN#';
/**
 * Sort key of one overlay edit: the function's name and the draft version the edit made,
 * zero-padded so that a function's edits sort by version. Edits are never overwritten, so a
 * reader can rebuild the draft at any version the overlay has seen.
 */
export const overlayEditSk = (name: string, version: number): string =>
  `FN#${name}#${String(version).padStart(10, '0')}`;
/** Prefix of the sort keys of every edit of one function in an overlay. */
export const overlayEditSkPrefix = (name: string): string => `FN#${name}#`;
/** Sort key of the record that marks `partition` as being written. */
export const pendingSk = (partition: string): string => `PENDING#${partition}`;
/** Prefix of every pending record's sort key. */
export const pendingSkPrefix = 'PENDING#';
/** Sort key of the record that marks `partition` as superseded. */
export const garbageSk = (partition: string): string => `GARBAGE#${partition}`;
/** Prefix of every garbage record's sort key. */
export const garbageSkPrefix = 'GARBAGE#';
/** Partition of a workspace's audit log. */
export const auditPk = (ws: string): string => `AUDIT#${ws}`;
