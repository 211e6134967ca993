import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { uploadKeyPrefix } from '../../core/artifacts.ts';
import { dataBucket } from './data-bucket.ts';

/** Key prefix of code zips in the artifacts bucket: `code/<sha256>.zip`. */
export const codeKeyPrefix = 'code/';

/**
 * Days S3 server access logs are kept before they expire. One year covers a yearly audit; the
 * logs bucket is only for forensics on who read or wrote code zips.
 */
export const accessLogRetentionDays = 365;

/**
 * Days a noncurrent version of a code zip is kept. Zips are content-addressed (same key, same
 * bytes), so a noncurrent version only appears when a zip is re-uploaded or deleted by mistake.
 */
export const noncurrentVersionRetentionDays = 30;

/**
 * Days a presigned upload (`uploads/<workspace>/<sha256>.zip`) that no spec has used is kept. A
 * presigned URL is valid for 15 minutes and the CLI uses the upload right after it, so a day
 * leaves room for a slow user and keeps abandoned uploads from piling up.
 */
export const unusedUploadRetentionDays = 1;

/**
 * The artifacts bucket for code zips (`code/<sha256>.zip`), and the bucket that receives its S3
 * server access logs.
 *
 * Artifacts: versioned, SSE-S3 encrypted, all public access blocked, bucket-owner-enforced
 * ownership (no ACLs), TLS-only bucket policy (`aws:SecureTransport` false is denied), server access
 * logs under `artifacts/` in the logs bucket, `RemovalPolicy.RETAIN`. No physical names, no
 * `autoDeleteObjects` (a custom resource).
 *
 * The stack that contains this construct must enable the feature flag
 * `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` so that log delivery is granted by a bucket
 * policy to `logging.s3.amazonaws.com` rather than by an ACL (ControlPlaneStack does).
 */
export class ArtifactsBucket extends Construct {
  /** The code-zip bucket. Grant with `bucket.grantRead(fn, 'code/*')` / `grantPut(fn, 'code/*')`. */
  readonly bucket: Bucket;
  /** Receives the artifacts bucket's server access logs. */
  readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      // Server access logs can be delivered only to SSE-S3 buckets (S3 User Guide, "Enabling Amazon S3 server access logging").
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(accessLogRetentionDays) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the destination of the artifacts bucket server access logs; logging its own ' +
        'accesses would need yet another bucket, and only S3 log delivery writes here.',
    });

    this.bucket = dataBucket(this, 'Bucket', {
      accessLogsBucket: this.accessLogsBucket,
      accessLogsPrefix: 'artifacts/',
      noncurrentVersionRetentionDays,
    });
    this.bucket.addLifecycleRule({
      id: 'expire-unused-uploads',
      prefix: uploadKeyPrefix,
      expiration: Duration.days(unusedUploadRetentionDays),
    });
  }
}
