#!/usr/bin/env node
/**
 * `npm start`: runs greco's local cloud in the foreground until Ctrl-C or SIGTERM.
 * See docs/local-cloud.md.
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { credentialsFileName, userStateDir, workDirName } from '../contracts/local-state.ts';
import {
  defaultPortBase,
  defaultProjectDir,
  type LocalCloud,
  type LocalCloudProgress,
  portOffsets,
  startLocalCloud,
  tokenCurl,
} from './cloud.ts';
import { localCredentials, localRegion } from './net.ts';

const usage = `Usage: npm start -- [options]

Starts greco's local cloud: synthesizes the CDK app, starts DynamoDB Local and the S3, Lambda,
Step Functions, EventBridge, CloudWatch Logs and API emulators, deploys the templates into them,
and prints the endpoints. Ctrl-C stops everything.

Options:
  --persist          keep DynamoDB tables and S3 objects under .greco/data (Lambda functions are re-created)
  --port-base N      use ports N (API) to N+7, and N+10.. for more HTTP endpoints (default ${defaultPortBase})
  --work-dir DIR     folder for cdk.out, local.json and data (default .greco)
  --no-example       do not apply the example fleet (examples/fleet/greco.yaml) once ready
  --verbose          also print function output here (it goes to CloudWatch Logs: greco logs NAME)
  --help             show this help

Once ready, it logs the CLI in as workspace demo with every role (credentials.json in the work
folder, as greco login --workspace demo does, and in the user-level state folder, where greco
finds this local cloud from any folder) and applies the example fleet with greco apply.
`;

interface MainArgs {
  readonly persist: boolean;
  readonly portBase: number;
  readonly workDir: string | undefined;
  /** Apply examples/fleet/greco.yaml once ready (`--no-example` turns it off). */
  readonly example: boolean;
  /** Print function output on stderr (`--verbose`); it always goes to the CloudWatch Logs emulator. */
  readonly verbose: boolean;
}

function parse(argv: string[]): MainArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      persist: { type: 'boolean', default: false },
      'port-base': { type: 'string' },
      'work-dir': { type: 'string' },
      'no-example': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const raw = values['port-base'];
  const portBase = raw === undefined ? defaultPortBase : Number(raw);
  // The block spans <base> to <base> + 19; ports stop at 65535.
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase > 65_515) {
    throw new Error(`--port-base must be an integer between 1024 and 65515, got ${JSON.stringify(raw)}`);
  }
  return {
    persist: values.persist,
    portBase,
    workDir: values['work-dir'],
    example: !values['no-example'],
    verbose: values.verbose,
  };
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function progressLine(event: LocalCloudProgress): string {
  switch (event.step) {
    case 'emulator':
      return `  ✓ ${event.service.padEnd(14)} ${event.endpoint.padEnd(28)} ${seconds(event.elapsedMs)}`;
    case 'synth':
      return `  ✓ ${(event.reused ? 'synth (reused)' : 'synth').padEnd(14)} ${event.stacks.join(', ').padEnd(28)} ${seconds(event.elapsedMs)}`;
    case 'stack':
      return `  ✓ ${'deployed'.padEnd(14)} ${`${event.stackName} (${event.resourceCount} resources)`.padEnd(28)} ${seconds(event.elapsedMs)}`;
    case 'ready':
      return `ready in ${seconds(event.elapsedMs)}`;
  }
}

function summary(cloud: LocalCloud): string {
  const lines = ['', 'Endpoints (credentials: any, e.g. local/local; region us-east-1):'];
  for (const [service, endpoint] of Object.entries(cloud.endpoints))
    lines.push(`  ${service.padEnd(14)} ${endpoint}`);
  for (const [name, url] of Object.entries(cloud.httpEndpoints)) lines.push(`  ${name.padEnd(14)} ${url}`);
  lines.push('', `API:   ${cloud.apiUrl ?? '(the app has no management API)'}`);
  lines.push('', 'Get a token and call the API:');
  lines.push(
    `  TOKEN=$(${tokenCurl(cloud.endpoints.issuer)} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
  );
  if (cloud.apiUrl !== undefined)
    lines.push(`  curl -s -H "Authorization: Bearer $TOKEN" ${cloud.apiUrl}v1/functions`);
  lines.push('', 'AWS CLI:');
  lines.push(
    `  AWS_ACCESS_KEY_ID=${localCredentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${localCredentials.secretAccessKey} AWS_REGION=${localRegion} \\`,
  );
  lines.push(`    aws --endpoint-url ${cloud.endpoints.lambda} lambda list-functions`);
  lines.push(`    aws --endpoint-url ${cloud.endpoints.logs} logs tail /aws/lambda/<function name> --follow`);
  if (cloud.stateFile !== undefined) lines.push('', `The same as JSON: ${cloud.stateFile}`);
  return lines.join('\n');
}

/** The workspace `npm start` logs the CLI in to and applies the example fleet in. */
const exampleWorkspace = 'demo';

/** The example fleet, relative to the project folder (where npm runs `npm start`). */
const exampleFile = 'examples/fleet/greco.yaml';

/** Lifetime of the token npm start stores: the local issuer's longest (24 h, local/oidc.ts). */
const tokenLifetimeSeconds = 86_400;

/**
 * Gives the user-level state folder the login just written to the work folder, so that `greco`
 * run from any folder uses this local cloud at once; a login to a deployed greco there is kept.
 * Returns the folder when it copied.
 */
async function shareLogin(workDir: string, stateDir: string): Promise<string | undefined> {
  if (resolve(stateDir) === resolve(workDir) || (await hasAwsLogin(stateDir))) return undefined;
  try {
    await mkdir(stateDir, { recursive: true });
    const target = join(stateDir, credentialsFileName);
    await copyFile(join(workDir, credentialsFileName), target);
    await chmod(target, 0o600);
    return stateDir;
  } catch (error) {
    console.error(`greco: could not copy the login to ${stateDir}: ${(error as Error).message}`);
    return undefined;
  }
}

/** `<workDir>/credentials.json` holds a login to a deployed greco (`kind: 'aws'`), which npm start must not replace. */
async function hasAwsLogin(workDir: string): Promise<boolean> {
  try {
    const stored = JSON.parse(await readFile(join(workDir, credentialsFileName), 'utf8')) as {
      kind?: unknown;
    };
    return stored.kind === 'aws';
  } catch {
    return false;
  }
}

/** The CLI's entry, run as a user runs `npx greco`. */
const cliEntry = join(defaultProjectDir, 'cli', 'greco.mjs');

/** How long a CLI command may take to stop after SIGINT before it is killed. */
const cliStopGraceMs = 5000;

/**
 * Runs one greco CLI command as a user would: a child process (`node cli/greco.mjs`, what
 * `npx greco` runs) in the project folder, its output streamed to this console (results and
 * progress on stdout, its one-line error on stderr). Resolves with its exit code. When `signal`
 * aborts (Ctrl-C, SIGTERM), the child gets SIGINT, as from a terminal, and SIGKILL if it is still
 * running {@link cliStopGraceMs} later; what it says after that is not shown.
 */
async function greco(workDir: string, argv: readonly string[], signal: AbortSignal): Promise<number> {
  if (signal.aborted) return 130;
  const child = spawn(process.execPath, [cliEntry, '--work-dir', workDir, ...argv], {
    cwd: defaultProjectDir,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Stopping: what the command says now is only about being stopped.
  child.stdout.on('data', (chunk: Buffer) => {
    if (!signal.aborted) process.stdout.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (!signal.aborted) process.stderr.write(chunk);
  });
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    child.kill('SIGINT');
    killTimer = setTimeout(() => child.kill('SIGKILL'), cliStopGraceMs);
    killTimer.unref();
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    return await new Promise<number>((resolveExit) => {
      child.once('error', (error) => {
        process.stderr.write(`greco: cannot run the CLI (${cliEntry}): ${error.message}\n`);
        resolveExit(1);
      });
      // 'close': the process ended and its output was read to the end.
      child.once('close', (code, killedBy) => resolveExit(code ?? (killedBy === null ? 1 : 130)));
    });
  } finally {
    signal.removeEventListener('abort', stop);
    clearTimeout(killTimer);
  }
}

/**
 * After ready: logs the CLI in for workspace demo (so `greco login` is not needed) and applies
 * the example fleet through `greco apply`, then says what to try next. A failure is reported
 * and the local cloud keeps running.
 */
async function applyExample(
  workDir: string,
  stateDir: string,
  example: boolean,
  persist: boolean,
  signal: AbortSignal,
): Promise<void> {
  // From the project folder the CLI finds <project>/.greco by itself; another work folder is named.
  const fromProject = relative(defaultProjectDir, workDir);
  const workDirHint =
    fromProject === workDirName
      ? ''
      : ` --work-dir ${fromProject.startsWith('..') || isAbsolute(fromProject) ? workDir : fromProject}`;
  const cli = `npx greco${workDirHint}`;
  if (await hasAwsLogin(workDir)) {
    console.log(
      [
        '',
        `The CLI is logged in to a deployed greco (${join(workDir, 'credentials.json')}): left as it is${example ? ', and the example fleet not applied' : ''}.`,
        `To use this local cloud: ${cli} login --workspace ${exampleWorkspace}${example ? `, then ${cli} apply -f ${exampleFile}` : ''}`,
      ].join('\n'),
    );
    return;
  }
  console.log('');
  const login = await greco(
    workDir,
    ['login', '--workspace', exampleWorkspace, '--expires-in', String(tokenLifetimeSeconds)],
    signal,
  );
  if (login !== 0) {
    console.log(`The CLI could not log in: run ${cli} login --workspace ${exampleWorkspace}`);
    return;
  }
  const shared = await shareLogin(workDir, stateDir);
  console.log(
    `No greco login needed: the CLI uses this token (valid 24 h, or until this local cloud stops)${shared === undefined ? '' : `, from any folder too (${shared})`}.`,
  );
  if (!example) {
    console.log(`\nApply the example fleet: ${cli} apply -f ${exampleFile}`);
    return;
  }
  console.log(`\nApplying the example fleet, as ${cli} apply -f ${exampleFile} does:`);
  const applied = await greco(workDir, ['apply', '-f', exampleFile], signal);
  if (signal.aborted) return;
  if (applied !== 0) {
    console.log(
      `\nThe example fleet was not applied (see above); the local cloud keeps running. Try again: ${cli} apply -f ${exampleFile}`,
    );
    return;
  }
  if (persist) {
    // Tables and objects survive a restart, Lambda functions do not (docs/local-cloud.md).
    console.log(
      `\nWith --persist the live model survives a restart but the data-plane functions do not: after "Nothing to deploy" above, invoking them answers not found. To deploy them afresh, stop and delete ${join(workDir, 'data')} (or start without --persist).`,
    );
  }
  console.log(
    [
      '',
      'What to try next (another terminal, in this folder):',
      `  ${cli} invoke orders-api --payload '{"rawPath":"/orders/o-1","requestContext":{"http":{"method":"GET"}}}'`,
      `  ${cli} invoke greeter --payload '{"name":"Ada"}'`,
      `  ${cli} invoke durations --payload '{"duration":"2h"}'`,
      `  ${cli} logs greeter              # its output: START/END/REPORT and console lines (--follow)`,
      `  ${cli} suspend greeter          # then invoke greeter again: throttled`,
      `  ${cli} start greeter`,
      `  in ${exampleFile}, set greeter's GREETING: Hello to GREETING: Hi, then`,
      `  ${cli} apply -f ${exampleFile}   # the plan shows the change; the next epoch; "Hi, Ada!"`,
      `  ${cli} events --follow           # deployments and start/suspend, as they happen`,
      `  ${cli} functions; ${cli} deployments; ${cli} --help`,
    ].join('\n'),
  );
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    console.error(`greco: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args === 'help') {
    console.log(usage);
    return 0;
  }
  console.log(
    `greco local cloud: ports ${args.portBase}-${args.portBase + Math.max(...Object.values(portOffsets))}${args.persist ? ', persistent data' : ''}`,
  );
  const stateDir = userStateDir();
  let stopRequested = false;
  let cloud: LocalCloud | undefined;
  const stopping = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      stopRequested = true;
      stopping.abort();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  try {
    cloud = await startLocalCloud({
      ports: args.portBase,
      persist: args.persist,
      ...(args.workDir === undefined ? {} : { workDir: args.workDir }),
      userStateDir: stateDir,
      ...(args.verbose
        ? {
            onFunctionLog: (event) =>
              process.stderr.write(`[${event.functionName}:${event.version}] ${event.message}\n`),
          }
        : {}),
      onProgress: (event) => console.log(progressLine(event)),
    });
  } catch (error) {
    console.error(`greco: ${(error as Error).message}`);
    return 1;
  }
  if (!stopRequested) {
    console.log(summary(cloud));
    const workDir = resolve(args.workDir ?? join(defaultProjectDir, workDirName));
    await applyExample(workDir, stateDir, args.example, args.persist, stopping.signal);
  }
  if (!stopRequested) {
    console.log('\nCtrl-C stops everything.');
    await stopped;
  }
  console.log('stopping…');
  try {
    await cloud.close();
  } catch (error) {
    console.error(`greco: ${(error as Error).message}`);
    return 1;
  }
  console.log('stopped');
  return 0;
}

const code = await main();
process.exitCode = code;
// Everything is closed, so Node exits by itself; if something was left open, say so and exit anyway.
setTimeout(() => {
  console.error('greco: a handle was still open 5 s after stopping; exiting');
  process.exit(code);
}, 5000).unref();
