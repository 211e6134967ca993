/**
 * bench/local-up: how fast `npm start` gets the local cloud ready, how much memory the whole
 * local cloud holds, and the Lambda emulator's warm invoke overhead.
 *
 * Runs `node local/main.ts` (what `npm start` runs) on a free port block with its own work
 * folder, waits for its `ready in` line, adds up the resident memory (VmRSS) of its process
 * tree from /proc, times warm invokes of an empty Node.js handler through the Lambda API, then
 * sends SIGTERM and checks that it exits 0 and leaves no process behind. Then starts it again
 * at once on the same ports and work folder: the second start reuses the synthesized assembly
 * (nothing changed), which is the usual `npm start` of a developer.
 *
 * Targets (issue 3): ready in under 15 s, under 1.5 GiB resident, on a 2-core machine.
 *
 * Usage: node bench/local-up.ts [--invokes 200]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  InvokeCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import {
  defaultProjectDir,
  descendantProcesses,
  findFreePortBlock,
  portOffsets,
  residentBytes,
} from '../local/cloud.ts';
import { localAccountId, localCredentials, localRegion, waitFor } from '../local/net.ts';

/** Ready within this many milliseconds (issue 3). */
const readyTargetMs = 15_000;
/** Resident memory of the whole local cloud under this many bytes (issue 3: 1.5 GiB). */
const memoryTargetBytes = 1.5 * 1024 ** 3;

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

function verdict(ok: boolean): string {
  return ok ? 'ok' : 'OVER TARGET';
}

async function treeRss(root: ChildProcess): Promise<{ bytes: number; processes: number }> {
  const pids = [root.pid as number, ...(await descendantProcesses(root.pid as number))];
  return { bytes: await residentBytes(pids), processes: pids.length };
}

/** A running `node local/main.ts`. */
interface Run {
  readonly child: ChildProcess;
  /** From spawn to the `ready in` line, in milliseconds. */
  readonly readyMs: number;
  /** SIGTERM, wait for the exit; resolves with the exit code and the processes left behind. */
  stop(): Promise<{ code: number | null; left: number }>;
}

async function start(base: number, workDir: string): Promise<Run> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['local/main.ts', '--port-base', String(base), '--work-dir', workDir],
    {
      cwd: defaultProjectDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let readyAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.startsWith('  ✓') || line.startsWith('ready in')) console.log(`  | ${line.trim()}`);
      if (line.startsWith('ready in') && readyAt === undefined) readyAt = performance.now();
    }
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    const pids = child.pid === undefined ? [] : await descendantProcesses(child.pid);
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await exited;
    const left = await waitFor(
      async () => {
        const alive = (await descendantProcesses()).filter((pid) => pids.includes(pid));
        return alive.length === 0 ? [] : undefined;
      },
      { timeoutMs: 15_000, what: 'every process of the local cloud to exit' },
    ).catch(() => pids);
    return { code, left: left.length };
  };
  try {
    const outcome = await waitFor(
      () => (child.exitCode !== null ? 'exited' : readyAt !== undefined && 'ready'),
      {
        timeoutMs: 180_000,
        intervalMs: 20,
        what: 'the local cloud to be ready',
      },
    );
    if (outcome === 'exited') throw new Error(`local/main.ts exited with ${child.exitCode}: ${stderr}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, readyMs: (readyAt as number) - started, stop };
}

/** Name of the empty function the benchmark creates (and deletes). */
const functionName = 'bench-empty';

/** Creates an empty Node.js function and times `count` warm invokes of it, in milliseconds, sorted. */
async function invokeOverhead(lambda: LambdaClient, count: number): Promise<number[]> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: functionName,
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      Role: `arn:aws:iam::${localAccountId}:role/bench`,
      Code: { ZipFile: zipSync({ 'index.mjs': strToU8('export const handler = async () => ({});') }) },
    }),
  );
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 60 }, { FunctionName: functionName });
  for (let warm = 0; warm < 10; warm++) await lambda.send(new InvokeCommand({ FunctionName: functionName }));
  const durations: number[] = [];
  for (let index = 0; index < count; index++) {
    const at = performance.now();
    const result = await lambda.send(new InvokeCommand({ FunctionName: functionName }));
    durations.push(performance.now() - at);
    if (result.FunctionError !== undefined) throw new Error(`invoke failed: ${result.FunctionError}`);
  }
  return durations.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { invokes: { type: 'string', default: '200' } } });
  const invokes = Number(values.invokes);
  const base = await findFreePortBlock();
  const workDir = await mkdtemp(join(tmpdir(), 'greco-bench-local-up-'));
  const lambda = new LambdaClient({
    endpoint: `http://127.0.0.1:${base + portOffsets.lambda}`,
    region: localRegion,
    credentials: localCredentials,
  });
  const lines: string[] = [];
  try {
    console.log(`first start: node local/main.ts --port-base ${base} --work-dir ${workDir}`);
    const first = await start(base, workDir);
    let durations: number[];
    let atReady: { bytes: number; processes: number };
    let afterInvokes: { bytes: number; processes: number };
    try {
      atReady = await treeRss(first.child);
      durations = await invokeOverhead(lambda, invokes);
      afterInvokes = await treeRss(first.child);
      await lambda.send(new DeleteFunctionCommand({ FunctionName: functionName }));
    } finally {
      const stopped = await first.stop();
      lines.push(
        `first start stopped by SIGTERM: exit code ${stopped.code}, ${stopped.left} process(es) left behind`,
      );
    }
    console.log('second start, same ports and work folder, right after:');
    const second = await start(base, workDir);
    const secondStopped = await second.stop();
    lines.push(
      `second start stopped by SIGTERM: exit code ${secondStopped.code}, ${secondStopped.left} process(es) left behind`,
    );

    const peak = Math.max(atReady.bytes, afterInvokes.bytes);
    console.log('');
    console.log(
      `time to ready, first start (synth)           ${(first.readyMs / 1000).toFixed(1)} s   (target < ${readyTargetMs / 1000} s)  ${verdict(first.readyMs < readyTargetMs)}`,
    );
    console.log(
      `time to ready, second start (synth reused)   ${(second.readyMs / 1000).toFixed(1)} s   (target < ${readyTargetMs / 1000} s)  ${verdict(second.readyMs < readyTargetMs)}`,
    );
    console.log(
      `resident memory at ready                     ${mib(atReady.bytes)} in ${atReady.processes} processes`,
    );
    console.log(
      `resident memory after ${invokes} invokes (warm fn) ${mib(afterInvokes.bytes)} in ${afterInvokes.processes} processes  (target < ${mib(memoryTargetBytes)})  ${verdict(peak < memoryTargetBytes)}`,
    );
    console.log(
      `warm invoke of an empty handler              p50 ${percentile(durations, 50).toFixed(2)} ms  p99 ${percentile(durations, 99).toFixed(2)} ms  (${invokes} sequential, through the Lambda API)`,
    );
    for (const line of lines) console.log(line);
  } finally {
    lambda.destroy();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
