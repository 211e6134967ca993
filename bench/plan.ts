/**
 * Benchmarks of the drafts path:
 * 1. `planChanges` on a 5,000-function live model against a draft with 10% changed (updates,
 *    creates and deletes), median of several runs;
 * 2. cold module load of the drafts handler bundle (`lambdas/drafts-api/index.ts`, bundled with
 *    esbuild as the CDK app would), timed with `import()` in fresh node processes.
 *
 * Run: `node bench/plan.ts` (Node 24).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { type PlanSummary, planChanges } from '../core/plan.ts';
import { codeRef, type FunctionSpec, Limits } from '../core/spec.ts';

const functionCount = Limits.maxFunctionsPerWorkspace;
const planRuns = 15;
const loadRuns = 7;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function sha(index: number, salt: string): string {
  return `${salt}${index.toString(16)}`.padEnd(64, '0').slice(0, 64);
}

function liveFunction(index: number): FunctionSpec {
  return {
    name: `fn-${String(index).padStart(5, '0')}`,
    runtime: index % 2 === 0 ? 'nodejs24.x' : 'python3.13',
    handler: 'index.handler',
    code: codeRef(sha(index, 'a'), 10_000 + index),
    memoryMiB: 128 + (index % 8) * 128,
    timeoutSeconds: 3 + (index % 30),
    ephemeralStorageMiB: 512,
    environment: {
      STAGE: 'prod',
      LOG_LEVEL: 'info',
      TABLE: `table-${index % 50}`,
      FEATURE_X: String(index % 2 === 0),
    },
    ...(index % 5 === 0 ? { reservedConcurrency: index % 20 } : {}),
    architecture: index % 3 === 0 ? 'arm64' : 'x86_64',
    tags: { team: `team-${index % 12}`, service: `svc-${index % 40}` },
  };
}

/** Ways a draft updates a function, cycled through so that every kind of field diff is planned. */
const updates: ReadonlyArray<(fn: FunctionSpec, index: number) => FunctionSpec> = [
  (fn) => ({ ...fn, memoryMiB: fn.memoryMiB + 128 }),
  (fn) => ({ ...fn, environment: { ...fn.environment, LOG_LEVEL: 'debug', NEW_KEY: 'x' } }),
  (fn, index) => ({ ...fn, code: codeRef(sha(index, 'b'), 20_000) }),
  (fn) => ({ ...fn, tags: { team: 'moved' } }),
  (fn) => {
    const { reservedConcurrency, ...rest } = fn;
    return reservedConcurrency === undefined ? { ...fn, reservedConcurrency: 3 } : rest;
  },
  (fn) => ({ ...fn, timeoutSeconds: 900, runtime: 'nodejs22.x' }),
];

/** The live model with 10% changed: 6% updated (mixed fields), 2% deleted, 2% created; shuffled order. */
function draftOf(live: readonly FunctionSpec[]): FunctionSpec[] {
  const draft: FunctionSpec[] = [];
  live.forEach((fn, index) => {
    const bucket = index % 50;
    if (bucket === 0) return; // delete: 1 in 50
    if (bucket <= 3) {
      const update = updates[(Math.floor(index / 50) + bucket) % updates.length] as (typeof updates)[number];
      draft.push(update(fn, index)); // update: 3 in 50
    } else draft.push(fn);
  });
  for (let i = 0; i < functionCount / 50; i++) draft.push(liveFunction(functionCount + i)); // create: 1 in 50
  return draft.reverse();
}

function timePlan(
  live: readonly FunctionSpec[],
  draft: readonly FunctionSpec[],
): { times: number[]; summary: PlanSummary } {
  for (let i = 0; i < 3; i++) planChanges(live, draft); // warm-up
  const times: number[] = [];
  let summary = planChanges(live, draft).summary;
  for (let i = 0; i < planRuns; i++) {
    const start = performance.now();
    summary = planChanges(live, draft).summary;
    times.push(performance.now() - start);
  }
  return { times, summary };
}

function benchPlan(): void {
  const live = Array.from({ length: functionCount }, (_, i) => liveFunction(i));
  const draft = draftOf(live);
  const { times, summary } = timePlan(live, draft);
  const changed = summary.create + summary.update + summary.delete;
  console.log(
    `plan ${live.length} vs ${draft.length} (${((changed / functionCount) * 100).toFixed(0)}% changed: ` +
      `${summary.create} create, ${summary.update} update, ${summary.delete} delete, ${summary.unchanged} unchanged): ` +
      `median ${median(times).toFixed(1)} ms, min ${Math.min(...times).toFixed(1)} ms over ${planRuns} runs`,
  );
  const everyFunctionUpdated = live.map((fn, index) =>
    (updates[index % updates.length] as (typeof updates)[number])(fn, index),
  );
  const worst = timePlan(live, everyFunctionUpdated);
  console.log(
    `plan ${live.length} vs ${everyFunctionUpdated.length} (100% updated, worst case): ` +
      `median ${median(worst.times).toFixed(1)} ms, min ${Math.min(...worst.times).toFixed(1)} ms over ${planRuns} runs`,
  );
}

async function benchColdLoad(): Promise<void> {
  const entry = 'lambdas/drafts-api/index.ts';
  const dir = mkdtempSync(join(tmpdir(), 'greco-bench-'));
  try {
    // The Lambda Node.js runtime ships the AWS SDK v3; here the project's node_modules stands in for it.
    symlinkSync(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'), 'dir');
    const outfile = join(dir, 'index.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      external: ['@aws-sdk/*'],
      outfile,
      logLevel: 'silent',
      // ESM bundles of CommonJS dependencies need a `require` in scope.
      banner: {
        js: "import { createRequire as __grecoCreateRequire } from 'node:module'; const require = __grecoCreateRequire(import.meta.url);",
      },
    });
    const sizeKiB = statSync(outfile).size / 1024;
    const probe = `
      const start = performance.now();
      let failure = '';
      try { await import(${JSON.stringify(pathToFileURL(outfile).href)}); }
      catch (error) { failure = String(error?.message ?? error).split('\\n')[0]; }
      process.stdout.write(JSON.stringify({ ms: performance.now() - start, failure }));
    `;
    const times: number[] = [];
    let failure = '';
    for (let i = 0; i < loadRuns; i++) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
        cwd: process.cwd(),
        encoding: 'utf8',
        env: {
          ...process.env,
          AWS_REGION: 'us-east-1',
          GRECO_CONFIG_TABLE: 'bench-config',
          GRECO_ARTIFACTS_BUCKET: 'bench-artifacts',
          GRECO_MANAGED_PREFIX: 'greco',
        },
      });
      if (child.status !== 0) throw new Error(`the probe process failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout) as { ms: number; failure: string };
      times.push(result.ms);
      failure = result.failure;
    }
    console.log(
      `cold import of ${entry} bundle (${sizeKiB.toFixed(1)} KiB, @aws-sdk/* external): median ${median(times).toFixed(1)} ms over ${loadRuns} fresh processes` +
        (failure === '' ? '' : ` (module threw on load: ${failure})`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

benchPlan();
await benchColdLoad();
