/**
 * What the commit of a deployment writes to the snapshots bucket, in order (docs/deployments.md,
 * "The epoch snapshot and marker"): the epoch snapshot object (the full model and its routing
 * table), then the epoch marker object, the in-band switch data-plane readers watch. Also the
 * routing table of an epoch: the previous epoch's, with the versions the Lambda conductor staged.
 *
 * @module
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FunctionSpec } from '../spec.ts';
import { translateUnavailable } from '../store/errors.ts';
import { DeploymentStateError } from './errors.ts';
import { markerObjectKey } from './keys.ts';
import type { ChangeItem, EpochMarker, EpochSnapshot, Route } from './types.ts';

/** Options of {@link EpochObjects}. */
export interface EpochObjectsOptions {
  /** Client of the snapshots bucket. */
  readonly s3: S3Client;
  /** The snapshots bucket (`GRECO_SNAPSHOTS_BUCKET`). */
  readonly bucket: string;
}

/**
 * The epoch objects in the snapshots bucket. S3 errors that mean the bucket is unavailable
 * become `ServiceUnavailableError` (503).
 */
export class EpochObjects {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(options: EpochObjectsOptions) {
    this.#s3 = options.s3;
    this.#bucket = options.bucket;
  }

  /** The routing table in the epoch snapshot object at `snapshotKey` (`{}` when it has none). */
  async readRouting(snapshotKey: string): Promise<Record<string, Route>> {
    try {
      const object = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: snapshotKey }));
      const snapshot = JSON.parse((await object.Body?.transformToString('utf-8')) ?? '{}') as EpochSnapshot;
      return { ...(snapshot.routing ?? {}) };
    } catch (error) {
      throw translateUnavailable(error, 'the snapshots bucket');
    }
  }

  /** Writes the epoch snapshot object at `key` (the same content on a re-run). */
  async putSnapshot(key: string, snapshot: EpochSnapshot): Promise<void> {
    await this.#put(key, snapshot);
  }

  /** Writes the epoch marker of `marker.workspace`: from now on data-plane readers switch to `marker.epoch`. */
  async putMarker(marker: EpochMarker): Promise<void> {
    await this.#put(markerObjectKey(marker.workspace), marker);
  }

  async #put(key: string, body: unknown): Promise<void> {
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: JSON.stringify(body),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      throw translateUnavailable(error, 'the snapshots bucket');
    }
  }
}

/** What {@link routingTable} combines. */
export interface RoutingInputs {
  readonly deploymentId: string;
  /** The epoch's model (the deployment's snapshot). */
  readonly functions: readonly FunctionSpec[];
  readonly changes: readonly ChangeItem[];
  /** The version the Lambda conductor staged per changed function. */
  readonly staged: readonly { readonly name: string; readonly version?: string }[];
  /** The routing table of the epoch before. */
  readonly previous: Readonly<Record<string, Route>>;
  /** Whether every created or updated function must have a staged version (the Lambda conductor is registered). */
  readonly requireStaged: boolean;
}

/**
 * The routing table of a new epoch: the previous epoch's routes of unchanged functions, the staged
 * version of each created or updated one, and nothing for deleted ones.
 *
 * @throws DeploymentStateError when `requireStaged` and a created or updated function has no staged version
 */
export function routingTable(inputs: RoutingInputs): Record<string, Route> {
  const staged = new Map(inputs.staged.map((r) => [r.name, r.version]));
  const changed = new Map(inputs.changes.map((c) => [c.name, c]));
  const routing: Record<string, Route> = {};
  for (const spec of inputs.functions) {
    const change = changed.get(spec.name);
    if (change === undefined || change.action === 'delete') {
      const before = inputs.previous[spec.name];
      if (before !== undefined) routing[spec.name] = before;
      continue;
    }
    const version = staged.get(spec.name);
    if (version === undefined) {
      if (inputs.requireStaged) {
        throw new DeploymentStateError(
          `deployment ${inputs.deploymentId} has no staged version of function ${spec.name}`,
        );
      }
      continue;
    }
    routing[spec.name] = { functionName: change.managedName, version };
  }
  return routing;
}
