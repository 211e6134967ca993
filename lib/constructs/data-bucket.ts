import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

/** Options of {@link dataBucket}. */
export interface DataBucketProps {
  /** Receives this bucket's S3 server access logs. */
  readonly accessLogsBucket: IBucket;
  /** Key prefix of this bucket's logs in `accessLogsBucket`, e.g. `artifacts/`. */
  readonly accessLogsPrefix: string;
  /** Days a noncurrent object version is kept before it expires. */
  readonly noncurrentVersionRetentionDays: number;
}

/**
 * A bucket for data users keep (code zips, epoch snapshots), with the settings every such greco
 * bucket shares: versioned, SSE-S3 encrypted, all public access blocked, bucket-owner-enforced
 * ownership (no ACLs), a TLS-only bucket policy, server access logs, noncurrent versions and
 * incomplete multipart uploads (7 days) expiring, and `RemovalPolicy.RETAIN`. No physical name and
 * no `autoDeleteObjects` (a custom resource).
 *
 * `id` is the construct id of the bucket itself, so existing buckets keep their logical ids.
 */
export function dataBucket(scope: Construct, id: string, props: DataBucketProps): Bucket {
  return new Bucket(scope, id, {
    versioned: true,
    encryption: BucketEncryption.S3_MANAGED,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    serverAccessLogsBucket: props.accessLogsBucket,
    serverAccessLogsPrefix: props.accessLogsPrefix,
    lifecycleRules: [
      {
        id: 'expire-noncurrent-versions',
        noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
