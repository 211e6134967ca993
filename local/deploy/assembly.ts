import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isObject } from '../../domain/objects.ts';
import { LocalDeployError, SynthError } from './errors.ts';
import { dependencyOrder } from './order.ts';
import type { CfnTemplate } from './template.ts';

/** One stack of a cloud assembly (an `aws:cloudformation:stack` artifact of `manifest.json`). */
export interface AssemblyStack {
  /** The artifact id in `manifest.json`. */
  readonly artifactId: string;
  /** The CloudFormation stack name (`properties.stackName`, else the artifact id). */
  readonly stackName: string;
  readonly template: CfnTemplate;
  /** Absolute path of the template file. */
  readonly templateFile: string;
  /** Artifact ids of the stacks this one must be deployed after. */
  readonly dependencies: readonly string[];
  /** Parameter values the assembly sets for the stack (`properties.parameters`). */
  readonly parameterValues: Readonly<Record<string, string>>;
}

/** A file asset of the assembly, found by the S3 object key CloudFormation would read it from. */
export interface FileAsset {
  /** Absolute path of the staged file or folder. */
  readonly path: string;
  /** `zip`: a folder to be zipped; `file`: the file as is. */
  readonly packaging: 'zip' | 'file';
}

/** A synthesized CDK app, as read from its output folder. */
export interface CloudAssembly {
  /** Absolute path of the folder (`cdk.out`). */
  readonly directory: string;
  /** The stacks, in an order where each comes after the stacks it depends on. */
  readonly stacks: readonly AssemblyStack[];
  /** File assets of every `*.assets.json`, by destination object key (e.g. `<sha256>.zip`). */
  readonly assetsByObjectKey: ReadonlyMap<string, FileAsset>;
}

/**
 * Reads a cloud assembly: `manifest.json`, each stack's template and the file assets listed
 * in the `*.assets.json` manifests.
 *
 * @throws LocalDeployError when the folder has no manifest, a template is missing, or the
 *   assembly nests another one (CDK Stages), which the local cloud does not deploy
 */
export async function readCloudAssembly(directory: string): Promise<CloudAssembly> {
  const root = resolve(directory);
  const manifestFile = join(root, 'manifest.json');
  if (!existsSync(manifestFile))
    throw new LocalDeployError(`${root} is not a cloud assembly: it has no manifest.json`);
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    artifacts?: Record<string, ManifestArtifact>;
  };
  const artifacts = manifest.artifacts ?? {};
  const stacks = new Map<string, AssemblyStack>();
  const assets = new Map<string, FileAsset>();
  for (const [artifactId, artifact] of Object.entries(artifacts)) {
    const properties = artifact.properties ?? {};
    if (artifact.type === 'aws:cloudformation:stack') {
      const templateFile = join(root, String(properties.templateFile));
      if (!existsSync(templateFile))
        throw new LocalDeployError(`stack ${artifactId}: ${templateFile} does not exist`);
      const template = JSON.parse(await readFile(templateFile, 'utf8')) as CfnTemplate;
      stacks.set(artifactId, {
        artifactId,
        stackName: typeof properties.stackName === 'string' ? properties.stackName : artifactId,
        template,
        templateFile,
        dependencies: artifact.dependencies ?? [],
        parameterValues: isObject(properties.parameters) ? stringRecord(properties.parameters) : {},
      });
    } else if (artifact.type === 'cdk:asset-manifest') {
      const file = join(root, String(properties.file));
      const assetManifest = JSON.parse(await readFile(file, 'utf8')) as {
        files?: Record<string, AssetEntry>;
      };
      for (const entry of Object.values(assetManifest.files ?? {})) {
        if (entry.source?.path === undefined) continue;
        const path = isAbsolute(entry.source.path) ? entry.source.path : join(root, entry.source.path);
        const packaging = entry.source.packaging === 'zip' ? 'zip' : 'file';
        for (const destination of Object.values(entry.destinations ?? {})) {
          if (destination.objectKey !== undefined) assets.set(destination.objectKey, { path, packaging });
        }
      }
    } else if (artifact.type === 'cdk:cloud-assembly') {
      throw new LocalDeployError(
        `artifact ${artifactId} is a nested cloud assembly (a CDK Stage); the local cloud deploys top-level stacks only`,
      );
    }
  }
  const stackDependencies = new Map(
    [...stacks.values()].map((stack) => [
      stack.artifactId,
      new Set(stack.dependencies.filter((dependency) => stacks.has(dependency))),
    ]),
  );
  const order = dependencyOrder([...stacks.keys()], stackDependencies, 'stacks');
  return {
    directory: root,
    stacks: order.map((id) => stacks.get(id) as AssemblyStack),
    assetsByObjectKey: assets,
  };
}

/** Options for {@link synthesize}. */
export interface SynthOptions {
  /** The CDK app's folder: its `cdk.json` and `cdk.context.json` are read, and the app runs there. */
  readonly projectDir: string;
  /** The app's entry file, relative to `projectDir`, run with this Node (`process.execPath`). @default 'bin/greco.ts' */
  readonly app?: string;
  /** Where the cloud assembly is written. */
  readonly outDir: string;
  /** Context values set over `cdk.json`'s and `cdk.context.json`'s. @default - none */
  readonly context?: Readonly<Record<string, unknown>>;
  /** `CDK_DEFAULT_ACCOUNT`. */
  readonly accountId: string;
  /** `CDK_DEFAULT_REGION`. */
  readonly region: string;
  /** Deadline for the app to finish, in milliseconds. @default 180000 */
  readonly timeoutMs?: number;
  /**
   * Reuse the assembly already in `outDir` when nothing the app reads has changed since it was
   * written: the files under `cdk.json`'s `watch.include` folders (bin, lib, lambdas, core,
   * domain, hotpath, statemachines), `cdk.json`, `cdk.context.json`, `package-lock.json`, the context and the
   * Node version, compared by a SHA-256 over their contents.
   * @default false
   */
  readonly reuse?: boolean;
  /** Stops the app (SIGTERM) when aborted; the synth then fails. @default - not abortable */
  readonly signal?: AbortSignal;
}

/** A synthesized assembly, and whether it was reused from an earlier synth. */
export interface SynthResult {
  readonly assembly: CloudAssembly;
  /** True when nothing had changed and the app did not run. */
  readonly reused: boolean;
}

/** File in the output folder that records the fingerprint of the inputs of the last synth. */
const fingerprintFile = 'greco-local-synth.json';

/** Folders the app reads, from `cdk.json` `watch.include` (`bin/**` → `bin`). */
function watchedFolders(cdkJson: Record<string, unknown>): string[] {
  const watch = isObject(cdkJson.watch) ? cdkJson.watch.include : undefined;
  const patterns = Array.isArray(watch)
    ? watch.map(String)
    : ['bin/**', 'lib/**', 'lambdas/**', 'core/**', 'domain/**', 'hotpath/**', 'statemachines/**'];
  return [
    ...new Set(
      patterns
        .map((pattern) => pattern.split('*')[0]?.replace(/\/+$/, '') ?? '')
        .filter((folder) => folder !== ''),
    ),
  ];
}

/** SHA-256 over everything the app's output depends on (see {@link SynthOptions.reuse}). */
async function inputFingerprint(projectDir: string, app: string, context: unknown): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ app, context, node: process.version }));
  const cdkJsonFile = join(projectDir, 'cdk.json');
  const cdkJson = existsSync(cdkJsonFile)
    ? (JSON.parse(await readFile(cdkJsonFile, 'utf8')) as Record<string, unknown>)
    : {};
  const files = ['cdk.json', 'cdk.context.json', 'package-lock.json'];
  for (const folder of watchedFolders(cdkJson)) {
    const root = join(projectDir, folder);
    if (!existsSync(root)) continue;
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      const full = join(entry.parentPath, entry.name);
      if (entry.isFile() && !/[\\/](node_modules|cdk\.out|\.greco)[\\/]/.test(full))
        files.push(relative(projectDir, full));
    }
  }
  for (const file of files.sort()) {
    const full = join(projectDir, file);
    if (!existsSync(full)) continue;
    hash.update(`\0${file}\0`);
    hash.update(await readFile(full));
  }
  return hash.digest('hex');
}

/**
 * Runs the CDK app as the CDK CLI does (`cdk synth`), without the CLI: the app gets the
 * output folder in `CDK_OUTDIR` and the context in `CDK_CONTEXT_JSON` (names from
 * aws-cdk-lib's cx-api), with asset metadata switched on so that each Lambda function's
 * `Metadata['aws:asset:path']` names its staged code. Then reads the assembly.
 *
 * @throws SynthError with the app's stderr when it fails or times out
 */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const projectDir = resolve(options.projectDir);
  const app = options.app ?? 'bin/greco.ts';
  const appFile = resolve(projectDir, app);
  if (!existsSync(appFile)) throw new SynthError(`the CDK app ${appFile} does not exist`);
  const context = {
    ...(await readContextFile(join(projectDir, 'cdk.json'), true)),
    ...(await readContextFile(join(projectDir, 'cdk.context.json'), false)),
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    'aws:cdk:version-reporting': false,
    'aws:cdk:bundling-stacks': ['**'],
    ...options.context,
  };
  await mkdir(options.outDir, { recursive: true });
  const fingerprint = options.reuse === true ? await inputFingerprint(projectDir, app, context) : undefined;
  const recorded = join(options.outDir, fingerprintFile);
  if (fingerprint !== undefined && existsSync(recorded)) {
    const previous = JSON.parse(await readFile(recorded, 'utf8')) as { fingerprint?: string };
    if (previous.fingerprint === fingerprint) {
      try {
        return { assembly: await readCloudAssembly(options.outDir), reused: true };
      } catch {
        // An assembly that cannot be read any more is synthesized again.
      }
    }
  }
  await rm(recorded, { force: true });
  const child = spawn(process.execPath, [appFile], {
    cwd: projectDir,
    env: {
      ...process.env,
      CDK_OUTDIR: resolve(options.outDir),
      CDK_CONTEXT_JSON: JSON.stringify(context),
      CDK_DEFAULT_ACCOUNT: options.accountId,
      CDK_DEFAULT_REGION: options.region,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const timeoutMs = options.timeoutMs ?? 180_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (done) => {
      let failure: Error | undefined;
      child.once('error', (error) => {
        failure = error;
        // A process that never started has no exit to wait for; an aborted one is waited for.
        if (child.pid === undefined) done({ code: null, signal: null, error });
      });
      child.once('exit', (code, signal) =>
        done({ code, signal, ...(failure === undefined ? {} : { error: failure }) }),
      );
    },
  );
  clearTimeout(timer);
  if (options.signal?.aborted === true) {
    throw new SynthError(`the CDK app ${app} was stopped before it finished`, {
      cause: options.signal.reason,
    });
  }
  if (outcome.error !== undefined) {
    throw new SynthError(`could not run the CDK app ${app}: ${outcome.error.message}`, {
      cause: outcome.error,
    });
  }
  if (outcome.code !== 0) {
    const why =
      outcome.signal === 'SIGKILL'
        ? `did not finish within ${timeoutMs} ms`
        : `exited with ${outcome.code ?? outcome.signal}`;
    throw new SynthError(`the CDK app ${app} ${why}:\n${output.trim()}`);
  }
  try {
    const assembly = await readCloudAssembly(options.outDir);
    if (fingerprint !== undefined) await writeFile(recorded, JSON.stringify({ fingerprint }));
    return { assembly, reused: false };
  } catch (error) {
    throw new SynthError(`the CDK app ${app} wrote no usable cloud assembly: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

interface ManifestArtifact {
  readonly type: string;
  readonly properties?: Record<string, unknown>;
  readonly dependencies?: string[];
}

interface AssetEntry {
  readonly source?: { readonly path?: string; readonly packaging?: string };
  readonly destinations?: Record<string, { readonly objectKey?: string }>;
}

async function readContextFile(file: string, nested: boolean): Promise<Record<string, unknown>> {
  if (!existsSync(file)) return {};
  const content = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const context = nested ? content.context : content;
  return isObject(context) ? context : {};
}

function stringRecord(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([key, element]) => [key, String(element)]));
}
