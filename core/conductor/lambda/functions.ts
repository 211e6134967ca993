/**
 * The Lambda conductor's reads and deletes of managed functions: GetFunction (absent is
 * `undefined`), the versions a deployment published (ListVersionsByFunction, every page), and
 * DeleteFunction that tolerates "already gone".
 *
 * @module
 */
import {
  DeleteFunctionCommand,
  type FunctionConfiguration,
  GetFunctionCommand,
  type GetFunctionCommandOutput,
  type LambdaClient,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import { describeError, TransientChangeError } from '../kit/errors.ts';
import { ConductorLambdaError, errorName, isLambdaTransient } from './errors.ts';
import { versionDescription } from './names.ts';

/**
 * GetFunction: the function's configuration, tags and concurrency, `undefined` when it does not exist.
 *
 * @throws TransientChangeError when Lambda does not answer usefully now
 * @throws ConductorLambdaError when Lambda refuses the call
 */
export async function getFunction(
  lambda: LambdaClient,
  functionName: string,
): Promise<GetFunctionCommandOutput | undefined> {
  try {
    return await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    if (isLambdaTransient(error))
      throw new TransientChangeError(`GetFunction ${functionName}: ${errorName(error)}`, { cause: error });
    throw new ConductorLambdaError(
      'GetFunction',
      `GetFunction ${functionName} failed: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** Every version of a function, page by page (a page is only asked for when the one before is used up). */
async function* versionsOf(
  lambda: LambdaClient,
  functionName: string,
): AsyncGenerator<FunctionConfiguration> {
  let marker: string | undefined;
  do {
    const page = await lambda.send(
      new ListVersionsByFunctionCommand({
        FunctionName: functionName,
        ...(marker === undefined ? {} : { Marker: marker }),
      }),
    );
    yield* page.Versions ?? [];
    marker = page.NextMarker;
  } while (marker !== undefined);
}

/** A version this deployment published before a crash: same description and code. */
export async function findPublishedVersion(
  lambda: LambdaClient,
  functionName: string,
  description: string,
  sha: string,
): Promise<string | undefined> {
  for await (const v of versionsOf(lambda, functionName)) {
    if (
      v.Version !== undefined &&
      v.Version !== '$LATEST' &&
      v.Description === description &&
      v.CodeSha256 === sha
    )
      return v.Version;
  }
  return undefined;
}

/** Every version a deployment published on a function (abort of a pending change). */
export async function versionsPublishedBy(
  lambda: LambdaClient,
  functionName: string,
  deploymentId: string,
): Promise<string[]> {
  const description = versionDescription(deploymentId);
  const versions: string[] = [];
  for await (const v of versionsOf(lambda, functionName)) {
    if (v.Version !== undefined && v.Version !== '$LATEST' && v.Description === description)
      versions.push(v.Version);
  }
  return versions;
}

/**
 * DeleteFunction, whole (`version` undefined) or one version. Gone already is fine; a version an
 * alias serves is kept (it is live somewhere, so not only ours to remove).
 */
export async function deleteFunction(
  lambda: LambdaClient,
  functionName: string,
  version: string | undefined,
): Promise<void> {
  try {
    await lambda.send(
      new DeleteFunctionCommand({
        FunctionName: functionName,
        ...(version === undefined ? {} : { Qualifier: version }),
      }),
    );
  } catch (error) {
    const name = errorName(error);
    if (name === 'ResourceNotFoundException') return;
    if (name === 'ResourceConflictException' && version !== undefined && /alias/i.test(describeError(error)))
      return;
    throw error;
  }
}
