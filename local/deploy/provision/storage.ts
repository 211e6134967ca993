import {
  type AttributeDefinition,
  type BillingMode,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type LocalSecondaryIndex,
  type StreamViewType,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { isObject } from '../../../domain/objects.ts';
import { nameRules } from '../names.ts';
import type { ProvisionRequest, ResourceProvisioner } from './types.ts';

function isNamed(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

function throughput(value: unknown): { ReadCapacityUnits: number; WriteCapacityUnits: number } | undefined {
  if (!isObject(value)) return undefined;
  return {
    ReadCapacityUnits: Number(value.ReadCapacityUnits),
    WriteCapacityUnits: Number(value.WriteCapacityUnits),
  };
}

function indexes<T extends GlobalSecondaryIndex | LocalSecondaryIndex>(
  value: unknown,
  withThroughput: boolean,
): T[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.filter(isObject).map((index) => {
    const out: Record<string, unknown> = {
      IndexName: index.IndexName,
      KeySchema: index.KeySchema,
      Projection: index.Projection,
    };
    const provisioned = withThroughput ? throughput(index.ProvisionedThroughput) : undefined;
    if (provisioned !== undefined) out.ProvisionedThroughput = provisioned;
    return out as unknown as T;
  });
}

/**
 * Creates a DynamoDB table from AWS::DynamoDB::Table or AWS::DynamoDB::GlobalTable properties
 * (keys, attribute definitions, billing mode, GSIs, LSIs, stream, TTL, tags). A table that
 * exists already (a restart on persisted data) is kept as it is.
 */
async function createTable(request: ProvisionRequest, global: boolean) {
  const { properties, services } = request;
  const dynamodb = services.clients.dynamodb;
  const name =
    typeof properties.TableName === 'string'
      ? properties.TableName
      : request.names.name(request.stackName, request.logicalId, nameRules.dynamodbTable);
  const billingMode =
    (properties.BillingMode as BillingMode | undefined) ?? (global ? 'PAY_PER_REQUEST' : 'PROVISIONED');
  const stream = isObject(properties.StreamSpecification) ? properties.StreamSpecification : undefined;
  const replica = global
    ? (Array.isArray(properties.Replicas) ? properties.Replicas : [])
        .filter(isObject)
        .find((candidate) => candidate.Region === services.region)
    : undefined;
  const tags = (global ? replica?.Tags : properties.Tags) as CreateTableCommandInput['Tags'];
  const input: CreateTableCommandInput = {
    TableName: name,
    AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
    KeySchema: properties.KeySchema as KeySchemaElement[],
    BillingMode: billingMode,
    ProvisionedThroughput:
      billingMode === 'PROVISIONED'
        ? (throughput(properties.ProvisionedThroughput) ??
          throughput(properties.WriteProvisionedThroughputSettings))
        : undefined,
    GlobalSecondaryIndexes: indexes<GlobalSecondaryIndex>(
      properties.GlobalSecondaryIndexes,
      billingMode === 'PROVISIONED',
    ),
    LocalSecondaryIndexes: indexes<LocalSecondaryIndex>(properties.LocalSecondaryIndexes, false),
    StreamSpecification:
      stream?.StreamViewType === undefined
        ? undefined
        : { StreamEnabled: true, StreamViewType: stream.StreamViewType as StreamViewType },
    Tags: Array.isArray(tags) && tags.length > 0 ? tags : undefined,
  };
  let arn: string | undefined;
  let streamArn: string | undefined;
  let tableId: string | undefined;
  try {
    const created = await dynamodb.send(new CreateTableCommand(input));
    arn = created.TableDescription?.TableArn;
    streamArn = created.TableDescription?.LatestStreamArn;
    tableId = created.TableDescription?.TableId;
  } catch (error) {
    if (!isNamed(error, 'ResourceInUseException')) throw error;
    const existing = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    arn = existing.Table?.TableArn;
    streamArn = existing.Table?.LatestStreamArn;
    tableId = existing.Table?.TableId;
  }
  const ttl = isObject(properties.TimeToLiveSpecification) ? properties.TimeToLiveSpecification : undefined;
  if (ttl !== undefined && String(ttl.Enabled) === 'true') {
    try {
      await dynamodb.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: String(ttl.AttributeName), Enabled: true },
        }),
      );
    } catch (error) {
      // Asking again for the TTL a persisted table already has is refused with this message.
      if (!(isNamed(error, 'ValidationException') && /already enabled/i.test((error as Error).message)))
        throw error;
    }
  }
  const attributes: Record<string, unknown> = {
    Arn: arn ?? `arn:aws:dynamodb:${services.region}:${services.accountId}:table/${name}`,
  };
  if (streamArn !== undefined) attributes.StreamArn = streamArn;
  if (tableId !== undefined) attributes.TableId = tableId;
  return { ref: name, attributes };
}

/**
 * AWS::DynamoDB::Table → CreateTable (+ UpdateTimeToLive) on DynamoDB Local. Accepted, not run
 * locally: PointInTimeRecoverySpecification, SSESpecification, DeletionProtectionEnabled,
 * ContributorInsightsSpecification, KinesisStreamSpecification, ImportSourceSpecification
 * is refused (it needs an S3 import).
 */
export const dynamodbTable: ResourceProvisioner = {
  check(resource) {
    return resource.Properties?.ImportSourceSpecification === undefined
      ? undefined
      : 'importing a table from S3 (ImportSourceSpecification) is not supported by the local cloud';
  },
  provision: (request) => createTable(request, false),
};

/** AWS::DynamoDB::GlobalTable (CDK's TableV2) → one table in the local region; other replicas are ignored. */
export const dynamodbGlobalTable: ResourceProvisioner = {
  provision: (request) => createTable(request, true),
};

/**
 * AWS::S3::Bucket → CreateBucket (+ PutBucketVersioning) on the S3 emulator. An existing bucket
 * (persisted data) is kept. Accepted, not run locally: encryption, public access block,
 * ownership controls, lifecycle rules, access logging, notifications, CORS, website.
 */
export const s3Bucket: ResourceProvisioner = {
  async provision(request) {
    const { properties, services } = request;
    const s3 = services.clients.s3;
    const name =
      typeof properties.BucketName === 'string'
        ? properties.BucketName
        : request.names.name(request.stackName, request.logicalId, nameRules.s3Bucket);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      if (!isNamed(error, 'BucketAlreadyOwnedByYou')) throw error;
    }
    const versioning = isObject(properties.VersioningConfiguration)
      ? properties.VersioningConfiguration.Status
      : undefined;
    if (versioning === 'Enabled' || versioning === 'Suspended') {
      await s3.send(
        new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: versioning } }),
      );
    }
    const region = services.region;
    return {
      ref: name,
      attributes: {
        Arn: `arn:aws:s3:::${name}`,
        DomainName: `${name}.s3.amazonaws.com`,
        RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
        DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
        WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
      },
    };
  },
};
