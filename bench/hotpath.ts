/**
 * bench/hotpath: start and suspend through the local cloud, over HTTP to the controller's local
 * function URL, with the Lambda emulator at AWS's account-wide control-plane limit (15 requests/s).
 *
 * 1. Idle: `--verbs` verbs (default 200), alternating suspend and start over a few managed
 *    functions, one every `--interval-ms` (default 500 ms: 2 verbs/s, 4 of the 15 requests/s).
 * 2. Loaded: the same while a `--functions`-function deployment (default 300, as bench/deploy)
 *    runs through the management API, its Lambda conductor limited to 10 requests/s against the
 *    same 15/s account limit.
 *
 * Prints p50 and p99 of each verb per phase, the loaded/idle p99 ratio (target at most 1.2) and
 * the failed verbs (target 0); the controller's own time beyond its Lambda API calls, from its
 * request log lines (`durationMs − lambdaApiMs`, target p99 under 5 ms); its bundle size (the
 * asset the stack's esbuild step produced, target under 50 KB); and its cold module-load time
 * (a fresh Node.js process importing the bundle, `@aws-sdk/*` from node_modules as Lambda's
 * runtime provides it).
 *
 * Usage: node bench/hotpath.ts [--verbs 200] [--interval-ms 500] [--functions 300] [--verbose]
 * Exit code 1 when a target is missed.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { EnvNames } from '../domain/env.ts';
import { defaultConductorRateLimit } from '../lib/conductors.ts';
import { defaultProjectDir, startLocalCloud } from '../local/cloud.ts';
import { waitFor } from '../local/net.ts';
import { DeploymentDriver } from '../support/deployments-driver.ts';
import { functionInput } from '../support/fixtures.ts';
import { controllerStackName, HotPathDriver } from '../support/hotpath-driver.ts';

/** The account-wide Lambda control-plane quota the emulator enforces, requests per second (Lambda quotas). */
const accountRateLimit = 15;
/** Targets of issue 5. */
const targets = { p99Ratio: 1.2, ownTimeP99Ms: 5, bundleBytes: 50_000 } as const;
/** Managed functions the verbs cycle over. */
const verbFunctions = 4;
/** Fresh processes that import the bundle, for the cold module-load time. */
const moduleLoadRuns = 7;

const { values } = parseArgs({
  options: {
    verbs: { type: 'string', default: '200' },
    'interval-ms': { type: 'string', default: '500' },
    functions: { type: 'string', default: '300' },
    verbose: { type: 'boolean', default: false },
  },
});
const verbCount = Number(values.verbs);
const intervalMs = Number(values['interval-ms']);
const loadFunctions = Number(values.functions);
if (!Number.isInteger(verbCount) || verbCount < 2 || verbCount > 10_000) {
  throw new Error(`--verbs must be an integer from 2 to 10000, got ${values.verbs}`);
}
if (!(Number.isFinite(intervalMs) && intervalMs >= 0 && intervalMs <= 60_000)) {
  throw new Error(`--interval-ms must be from 0 to 60000, got ${values['interval-ms']}`);
}
if (!Number.isInteger(loadFunctions) || loadFunctions < 1 || loadFunctions > 5000) {
  throw new Error(`--functions must be an integer from 1 to 5000, got ${values.functions}`);
}

/** One request line of the controller's log (hotpath/http.ts). */
interface RequestLine {
  readonly verb?: string;
  readonly status: number;
  readonly changed?: boolean;
  readonly durationMs: number;
  readonly lambdaApiMs?: number;
  readonly eventsApiMs?: number;
}

// The controller logs one JSON line per request; the Lambda emulator writes function logs to
// stderr prefixed `[<function>:<version>] `. Collect the controller's, hide function logs unless --verbose.
const requestLines: RequestLine[] = [];
const writeStderr = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  let functionLog = false;
  for (const line of text.split('\n')) {
    const match = /^\[([^\]:]+):[^\]]+\] (.*)$/.exec(line);
    if (match === null) continue;
    functionLog = true;
    if (!match[1]?.startsWith(`${controllerStackName}-`) || !match[2]?.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(match[2]) as RequestLine & { message?: string };
      if (parsed.message === 'request') requestLines.push(parsed);
    } catch {
      // Not a JSON line.
    }
  }
  if (functionLog && !values.verbose) return true;
  return (writeStderr as (...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stderr.write;

/** Nearest-rank percentile of `samples` (milliseconds). */
function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

interface PhaseResult {
  readonly label: string;
  readonly latencies: { readonly suspend: number[]; readonly start: number[] };
  readonly failed: string[];
  readonly ownTimeMs: number[];
  /** Own time without event publication either: `durationMs − lambdaApiMs − eventsApiMs`. */
  readonly ownTimeWithoutEventsMs: number[];
  readonly eventsMs: number[];
  readonly rateLimited: number;
  readonly seconds: number;
}

const workDir = await mkdtemp(join(tmpdir(), 'greco-bench-hotpath-'));
const cloud = await startLocalCloud({ ports: 'ephemeral', workDir, controlPlaneRateLimit: accountRateLimit });
const hotPath = new HotPathDriver(cloud, workDir);
const deployments = new DeploymentDriver(cloud);
let missed = false;

async function rateLimitedCalls(): Promise<number> {
  const response = await fetch(`${cloud.endpoints.lambda}/_greco/stats`);
  return ((await response.json()) as { throttled: number }).throttled;
}

/** Runs the verbs at a fixed pace (a late verb goes at once), one at a time. */
async function runVerbs(label: string, token: string, names: readonly string[]): Promise<PhaseResult> {
  const result: PhaseResult = {
    label,
    latencies: { suspend: [], start: [] },
    failed: [],
    ownTimeMs: [],
    ownTimeWithoutEventsMs: [],
    eventsMs: [],
    rateLimited: 0,
    seconds: 0,
  };
  const linesBefore = requestLines.length;
  const throttledBefore = await rateLimitedCalls();
  const began = performance.now();
  for (let i = 0; i < verbCount; i += 1) {
    const due = began + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const name = names[Math.floor(i / 2) % names.length] as string;
    const verb = i % 2 === 0 ? 'suspend' : 'start';
    const sent = performance.now();
    const answer = await hotPath.verb(token, name, verb);
    const elapsed = performance.now() - sent;
    const expected = verb === 'suspend' ? 'suspended' : 'running';
    if (answer.status !== 200 || answer.body.state !== expected) {
      result.failed.push(`${verb} ${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    } else {
      result.latencies[verb].push(elapsed);
    }
  }
  const seconds = (performance.now() - began) / 1000;
  // The controller's log lines of this phase: verbs that changed something.
  const lines = requestLines
    .slice(linesBefore)
    .filter((line) => line.verb === 'start' || line.verb === 'suspend');
  return {
    ...result,
    ownTimeMs: lines.map((line) => line.durationMs - (line.lambdaApiMs ?? 0)),
    ownTimeWithoutEventsMs: lines.map(
      (line) => line.durationMs - (line.lambdaApiMs ?? 0) - (line.eventsApiMs ?? 0),
    ),
    eventsMs: lines.map((line) => line.eventsApiMs ?? 0),
    rateLimited: (await rateLimitedCalls()) - throttledBefore,
    seconds,
  };
}

function printPhase(result: PhaseResult): void {
  console.log(
    `${result.label.padEnd(7)} suspend p50 ${ms(percentile(result.latencies.suspend, 50))}, p99 ${ms(percentile(result.latencies.suspend, 99))}; ` +
      `start p50 ${ms(percentile(result.latencies.start, 50))}, p99 ${ms(percentile(result.latencies.start, 99))}; ` +
      `failed ${result.failed.length}; Lambda calls answered 429 ${result.rateLimited}; ${result.seconds.toFixed(0)} s`,
  );
  for (const failure of result.failed.slice(0, 5)) console.log(`  failed: ${failure}`);
}

/** Bundle of the controller as the stack built it: the asset of its Lambda function in cdk.out. */
async function controllerBundle(): Promise<string> {
  const template = JSON.parse(
    await readFile(join(workDir, 'cdk.out', `${controllerStackName}.template.json`), 'utf8'),
  ) as { Resources: Record<string, { Type: string; Metadata?: Record<string, unknown> }> };
  const assetPaths = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('ControllerFunction'))
    .map(([, r]) => r.Metadata?.['aws:asset:path'])
    .filter((path): path is string => typeof path === 'string');
  if (assetPaths.length !== 1) throw new Error(`expected one controller asset, found ${assetPaths.length}`);
  return join(workDir, 'cdk.out', assetPaths[0] as string, 'index.mjs');
}

/** Milliseconds a fresh process takes to import the bundle, `moduleLoadRuns` times. */
async function moduleLoadTimes(bundle: string): Promise<number[]> {
  // Inside the project, so that `@aws-sdk/*` resolves from node_modules (Lambda's runtime provides it).
  const dir = join(defaultProjectDir, '.greco', `bench-hotpath-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const copy = join(dir, 'index.mjs');
  await copyFile(bundle, copy);
  const script =
    'const t = performance.now(); await import(process.argv[1]); ' +
    'process.stdout.write(String(performance.now() - t));';
  const env = {
    PATH: process.env.PATH ?? '',
    [EnvNames.jwtIssuer]: cloud.endpoints.issuer,
    [EnvNames.jwtAudience]: cloud.audience,
    AWS_REGION: 'us-east-1',
  };
  try {
    const times: number[] = [];
    for (let run = 0; run < moduleLoadRuns; run += 1) {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', script, pathToFileURL(copy).href],
        { env },
      );
      times.push(Number(stdout));
    }
    return times;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  const token = await hotPath.token('bench-hp');
  const names: string[] = [];
  for (let i = 0; i < verbFunctions; i += 1) {
    const name = `verb-${i}`;
    await hotPath.createManagedFunction('bench-hp', name, { reservedConcurrency: 2 });
    names.push(name);
  }
  // Warm the controller (its first request fetches the issuer's keys).
  await hotPath.verb(token, names[0] as string, 'state');

  const idle = await runVerbs('idle', token, names);
  printPhase(idle);

  // The load: a deployment of `loadFunctions` new functions (as bench/deploy), to another workspace.
  const loadToken = await cloud.mintToken({
    workspace: 'bench-load',
    roles: ['viewer', 'editor', 'approver'],
  });
  const draftId = await deployments.draftWith(
    loadToken,
    Array.from({ length: loadFunctions }, (_, i) => functionInput(`fn-${String(i).padStart(4, '0')}`)),
  );
  const createsBefore = (await hotPath.operationCounts()).CreateFunction ?? 0;
  const deploymentId = await deployments.deploy(loadToken, draftId);
  const { executionArn } = await deployments.deployment(loadToken, deploymentId);
  // Measure once the conductor is creating functions.
  await waitFor(async () => ((await hotPath.operationCounts()).CreateFunction ?? 0) > createsBefore + 5, {
    timeoutMs: 120_000,
    intervalMs: 100,
    what: 'the conductor to create functions',
  });
  const loaded = await runVerbs('loaded', token, names);
  const stillRunning =
    (await deployments.sfn.send(new DescribeExecutionCommand({ executionArn }))).status === 'RUNNING';
  printPhase(loaded);
  console.log(
    `        the ${loadFunctions}-function deployment ${stillRunning ? 'was still running at the end of the loaded phase' : 'ENDED BEFORE the loaded phase did (use fewer --verbs or a larger --functions)'}`,
  );
  const execution = await deployments.executionEnd(executionArn, 3_600_000);
  const deployment = await deployments.deployment(loadToken, deploymentId);
  console.log(
    `        deployment ${deployment.status} (execution ${execution.status}); conductor limit ${defaultConductorRateLimit}/s, account ${accountRateLimit}/s`,
  );

  const ratios = (['suspend', 'start'] as const).map(
    (verb) => percentile(loaded.latencies[verb], 99) / percentile(idle.latencies[verb], 99),
  );
  const worstRatio = Math.max(...ratios);
  const failedVerbs = idle.failed.length + loaded.failed.length;
  console.log(
    `loaded/idle p99: suspend ${ratios[0]?.toFixed(2)}, start ${ratios[1]?.toFixed(2)} (target <= ${targets.p99Ratio}); failed verbs ${failedVerbs} (target 0)`,
  );
  if (!(worstRatio <= targets.p99Ratio) || failedVerbs > 0 || !stillRunning) missed = true;

  const own = [...idle.ownTimeMs, ...loaded.ownTimeMs];
  console.log(
    `controller's own time beyond Lambda API calls (durationMs - lambdaApiMs, ${own.length} verbs): ` +
      `p50 ${ms(percentile(own, 50))}, p99 ${ms(percentile(own, 99))}, max ${ms(Math.max(...own))}`,
  );
  const ownCore = [...idle.ownTimeWithoutEventsMs, ...loaded.ownTimeWithoutEventsMs];
  const events = [...idle.eventsMs, ...loaded.eventsMs];
  console.log(
    `  of which publishing the event (eventsApiMs, PutEvents to the local EventBridge): p50 ${ms(percentile(events, 50))}, p99 ${ms(percentile(events, 99))}; ` +
      `own time without it (durationMs - lambdaApiMs - eventsApiMs): p50 ${ms(percentile(ownCore, 50))}, p99 ${ms(percentile(ownCore, 99))}, max ${ms(Math.max(...ownCore))} (target p99 < ${targets.ownTimeP99Ms} ms)`,
  );
  if (!(percentile(ownCore, 99) < targets.ownTimeP99Ms)) missed = true;

  const bundle = await controllerBundle();
  const bytes = (await stat(bundle)).size;
  console.log(
    `bundle: ${(bytes / 1000).toFixed(1)} KB (${bytes} bytes, index.mjs; target < ${targets.bundleBytes / 1000} KB)`,
  );
  if (bytes >= targets.bundleBytes) missed = true;
  const loads = await moduleLoadTimes(bundle);
  console.log(
    `cold module load (fresh process, import of the bundle with @aws-sdk/*, ${loads.length} runs): ` +
      `median ${ms(percentile(loads, 50))}, max ${ms(Math.max(...loads))}`,
  );
} finally {
  hotPath.close();
  deployments.close();
  await cloud.close();
  await rm(workDir, { recursive: true, force: true });
}
process.exitCode = missed ? 1 : 0;
