import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import {
  type Architecture,
  CreateAliasCommand,
  CreateFunctionCommand,
  type FunctionCode,
  GetAliasCommand,
  type LambdaClient,
  PublishVersionCommand,
  PutFunctionConcurrencyCommand,
  type Runtime,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { strToU8, type Zippable, zipSync } from 'fflate';
import { isObject } from '../../../domain/objects.ts';
import { LocalDeployError } from '../errors.ts';
import { nameRules } from '../names.ts';
import type { ProvisionRequest, ResourceProvisioner } from './types.ts';

/**
 * Waiter settings for a function to leave `Pending` / `InProgress`: up to 120 s, polling from
 * every 100 ms (backing off to 1 s). The SDK's default first pause is 1 s, which would add
 * about a second per function to a local deploy whose transitions take a fraction of that.
 * GetFunction has its own 100 requests/s budget in Lambda, apart from the 15/s control plane.
 */
const settle = { maxWaitTime: 120, minDelay: 0.1, maxDelay: 1 } as const;

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]` → `name[:qualifier]`; a plain name stays as is. */
export function functionNameFromArn(value: string): string {
  const match = /:function:([^:/]+(?::[^:/]+)?)/.exec(value);
  return match?.[1] ?? value;
}

/** Zips a folder (files only, paths relative to it with `/`), with a fixed timestamp so that the same folder gives the same bytes. */
export async function zipFolder(folder: string): Promise<Uint8Array> {
  const files: Zippable = {};
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const name = relative(folder, full).split(sep).join('/');
    files[name] = [await readFile(full), { mtime: new Date('1980-01-01T00:00:00Z') }];
  }
  return zipSync(files, { level: 6 });
}

/**
 * The code of an AWS::Lambda::Function for CreateFunction: the zipped asset named by
 * `Metadata['aws:asset:path']`, else the zipped assembly asset with the object key `Code.S3Key`,
 * else inline `Code.ZipFile` (written as `index.js`, or `index.py` for Python, as CloudFormation
 * does). Code in an S3 bucket that is not an asset is passed on as `S3Bucket`/`S3Key`: the
 * Lambda emulator reads it from the local S3, as Lambda reads it from S3.
 */
async function functionCode(request: ProvisionRequest): Promise<FunctionCode> {
  const code = request.properties.Code;
  if (!isObject(code))
    throw new LocalDeployError(`${request.stackName}/${request.logicalId}: Code is missing`);
  if (typeof code.ZipFile === 'string') {
    const runtime = String(request.properties.Runtime ?? '');
    return {
      ZipFile: zipSync({ [runtime.startsWith('python') ? 'index.py' : 'index.js']: strToU8(code.ZipFile) }),
    };
  }
  const metadata = request.resource.Metadata ?? {};
  const assetPath = metadata['aws:asset:path'];
  const property = metadata['aws:asset:property'];
  let path: string | undefined;
  if (typeof assetPath === 'string' && (property === undefined || property === 'Code')) {
    path = resolve(request.assembly.directory, assetPath);
  } else if (typeof code.S3Key === 'string') {
    path = request.assembly.assetsByObjectKey.get(code.S3Key)?.path;
  }
  if (path !== undefined) {
    return {
      ZipFile: (await stat(path)).isDirectory()
        ? await zipFolder(path)
        : new Uint8Array(await readFile(path)),
    };
  }
  if (typeof code.S3Bucket === 'string' && typeof code.S3Key === 'string') {
    return {
      S3Bucket: code.S3Bucket,
      S3Key: code.S3Key,
      ...(typeof code.S3ObjectVersion === 'string' ? { S3ObjectVersion: code.S3ObjectVersion } : {}),
    };
  }
  throw new LocalDeployError(
    `${request.stackName}/${request.logicalId}: Code has neither ZipFile nor S3Bucket and S3Key`,
  );
}

function tagRecord(tags: unknown): Record<string, string> | undefined {
  if (!Array.isArray(tags) || tags.length === 0) return undefined;
  return Object.fromEntries(tags.filter(isObject).map((tag) => [String(tag.Key), String(tag.Value)]));
}

function functionArn(request: ProvisionRequest, name: string): string {
  return `arn:aws:lambda:${request.services.region}:${request.services.accountId}:function:${name}`;
}

function isNamed(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

async function updateExisting(
  lambda: LambdaClient,
  name: string,
  code: FunctionCode,
  configuration: Omit<ConstructorParameters<typeof UpdateFunctionConfigurationCommand>[0], 'FunctionName'>,
): Promise<void> {
  // Lambda refuses a second update while one is InProgress: wait between the two.
  await waitUntilFunctionUpdatedV2({ client: lambda, ...settle }, { FunctionName: name });
  await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ...code }));
  await waitUntilFunctionUpdatedV2({ client: lambda, ...settle }, { FunctionName: name });
  await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, ...configuration }));
  await waitUntilFunctionUpdatedV2({ client: lambda, ...settle }, { FunctionName: name });
}

/**
 * AWS::Lambda::Function → CreateFunction on the Lambda emulator with the zipped asset, the
 * resolved environment, handler, runtime, memory, timeout and architecture; waits until it is
 * `Active`; sets `ReservedConcurrentExecutions` with PutFunctionConcurrency. A function that
 * exists already (a restart on persisted data) gets its code and configuration updated.
 * Not run locally (accepted, listed in docs/local-cloud.md): TracingConfig, LoggingConfig,
 * VpcConfig, DeadLetterConfig, KmsKeyArn. Refused: container images and layers.
 */
export const lambdaFunction: ResourceProvisioner = {
  check(resource) {
    const properties = resource.Properties ?? {};
    if (properties.PackageType === 'Image' || (isObject(properties.Code) && 'ImageUri' in properties.Code)) {
      return 'container image functions are not supported by the local cloud (zip packages only)';
    }
    if (Array.isArray(properties.Layers) && properties.Layers.length > 0) {
      return 'Lambda layers are not supported by the local cloud; bundle the dependencies into the function';
    }
    return undefined;
  },
  async provision(request) {
    const { properties, services } = request;
    const lambda = services.clients.lambda;
    const name =
      typeof properties.FunctionName === 'string'
        ? properties.FunctionName
        : request.names.name(request.stackName, request.logicalId, nameRules.lambdaFunction);
    const code = await functionCode(request);
    const environment = isObject(properties.Environment) ? properties.Environment.Variables : undefined;
    const configuration = {
      Runtime: properties.Runtime as Runtime | undefined,
      Handler: properties.Handler as string | undefined,
      Role: String(properties.Role),
      Description: properties.Description as string | undefined,
      Timeout: properties.Timeout === undefined ? undefined : Number(properties.Timeout),
      MemorySize: properties.MemorySize === undefined ? undefined : Number(properties.MemorySize),
      Environment: isObject(environment)
        ? {
            Variables: Object.fromEntries(
              Object.entries(environment).map(([key, value]) => [key, String(value)]),
            ),
          }
        : undefined,
    };
    let arn: string;
    try {
      const created = await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          ...configuration,
          Code: code,
          PackageType: 'Zip',
          Architectures: properties.Architectures as Architecture[] | undefined,
          Tags: tagRecord(properties.Tags),
        }),
      );
      arn = created.FunctionArn ?? functionArn(request, name);
      await waitUntilFunctionActiveV2({ client: lambda, ...settle }, { FunctionName: name });
    } catch (error) {
      if (!isNamed(error, 'ResourceConflictException')) throw error;
      await updateExisting(lambda, name, code, configuration);
      arn = functionArn(request, name);
    }
    if (properties.ReservedConcurrentExecutions !== undefined) {
      await lambda.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: name,
          ReservedConcurrentExecutions: Number(properties.ReservedConcurrentExecutions),
        }),
      );
    }
    return { ref: name, attributes: { Arn: arn } };
  },
};

/** AWS::Lambda::Version → PublishVersion. `Ref` is the version ARN. */
export const lambdaVersion: ResourceProvisioner = {
  async provision(request) {
    const lambda = request.services.clients.lambda;
    const name = functionNameFromArn(String(request.properties.FunctionName));
    await waitUntilFunctionUpdatedV2({ client: lambda, ...settle }, { FunctionName: name });
    const published = await lambda.send(
      new PublishVersionCommand({
        FunctionName: name,
        Description: request.properties.Description as string | undefined,
      }),
    );
    const version = published.Version ?? '1';
    const arn = published.FunctionArn ?? `${functionArn(request, name)}:${version}`;
    return { ref: arn, attributes: { Version: version, FunctionArn: arn } };
  },
};

/** AWS::Lambda::Alias → CreateAlias (an existing alias of the same name is kept). `Ref` is the alias ARN. */
export const lambdaAlias: ResourceProvisioner = {
  check(resource) {
    return isObject(resource.Properties?.RoutingConfig)
      ? 'weighted alias routing (RoutingConfig) is not supported by the local cloud'
      : undefined;
  },
  async provision(request) {
    const lambda = request.services.clients.lambda;
    const name = functionNameFromArn(String(request.properties.FunctionName));
    const aliasName = String(request.properties.Name);
    try {
      const created = await lambda.send(
        new CreateAliasCommand({
          FunctionName: name,
          Name: aliasName,
          FunctionVersion: String(request.properties.FunctionVersion),
          Description: request.properties.Description as string | undefined,
        }),
      );
      const arn = created.AliasArn ?? `${functionArn(request, name)}:${aliasName}`;
      return { ref: arn, attributes: { AliasArn: arn } };
    } catch (error) {
      if (!isNamed(error, 'ResourceConflictException')) throw error;
      const existing = await lambda.send(new GetAliasCommand({ FunctionName: name, Name: aliasName }));
      const arn = existing.AliasArn ?? `${functionArn(request, name)}:${aliasName}`;
      return { ref: arn, attributes: { AliasArn: arn } };
    }
  },
};

/**
 * AWS::Lambda::Url → a local HTTP endpoint whose `$default` route invokes the function (payload
 * format 2.0, as function URLs use). `AuthType: AWS_IAM` is not enforced locally. `FunctionUrl`
 * ends with `/`, as Lambda's.
 */
export const lambdaUrl: ResourceProvisioner = {
  async provision(request) {
    const { services, properties } = request;
    const target = functionNameFromArn(String(properties.TargetFunctionArn));
    const qualifier = typeof properties.Qualifier === 'string' ? properties.Qualifier : undefined;
    const functionName = qualifier === undefined || target.includes(':') ? target : `${target}:${qualifier}`;
    const port = await services.reserveHttpPort({
      stackName: request.stackName,
      logicalId: request.logicalId,
      kind: 'url',
    });
    const endpoint = await services.startHttpEndpoint({
      port,
      apiId: request.names.id(request.stackName, request.logicalId, 10),
      stage: '$default',
      routes: [{ routeKey: '$default', functionName }],
    });
    request.state.endpoints.push(endpoint);
    const url = endpoint.url.endsWith('/') ? endpoint.url : `${endpoint.url}/`;
    const arn = String(properties.TargetFunctionArn);
    return { ref: arn, attributes: { FunctionUrl: url, FunctionArn: arn } };
  },
};
