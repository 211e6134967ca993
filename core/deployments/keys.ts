/**
 * Config-table keys of deployments (see docs/deployments.md, "Records"). Same table and
 * conventions as `core/store/keys.ts`: ids and names never contain `#`.
 *
 * @module
 */
import { workspacePk } from '../store/keys.ts';

export { workspacePk };
/** Sort key of the workspace's deployment lock (one deployment in flight per workspace). */
export const lockSk = 'LOCK';
/** Sort key of a deployment record. */
export const deploymentSk = (deploymentId: string): string => `DEPLOY#${deploymentId}`;
/** Sort key of one committed epoch, zero-padded to sort by number. */
export const epochSk = (epoch: number): string => `EPOCH#${String(epoch).padStart(10, '0')}`;
/** Partition of one deployment's change set and conductor progress. */
export const deploymentPk = (ws: string, deploymentId: string): string => `DEPLOY#${ws}#${deploymentId}`;
/** Sort key of one change of a deployment. */
export const changeSk = (name: string): string => `CHANGE#${name}`;
/** Prefix of every change item's sort key. */
export const changeSkPrefix = 'CHANGE#';
/** Sort key of one conductor's progress on one change. */
export const resultSk = (conductor: string, name: string): string => `RESULT#${conductor}#${name}`;
/** Prefix of one conductor's progress items. */
export const resultSkPrefix = (conductor: string): string => `RESULT#${conductor}#`;
/** S3 key of an epoch snapshot in the snapshots bucket. */
export const snapshotObjectKey = (ws: string, epoch: number): string =>
  `snapshots/${ws}/${String(epoch).padStart(10, '0')}.json`;
/** S3 key of a workspace's epoch marker in the snapshots bucket. */
export const markerObjectKey = (ws: string): string => `markers/${ws}.json`;
/**
 * Sort key of a deployment's entry in the workspace's deployment log (item
 * `{ deploymentId }` in the workspace partition): request time first, so a reverse Query lists
 * deployments newest first. Written in the same transaction as the deployment record.
 */
export const deploymentLogSk = (requestedAt: string, deploymentId: string): string =>
  `DEPLOYLOG#${requestedAt}#${deploymentId}`;
/** Prefix of every deployment-log entry's sort key. */
export const deploymentLogSkPrefix = 'DEPLOYLOG#';
