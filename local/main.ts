#!/usr/bin/env node
/**
 * `npm start`: runs greco's local cloud in the foreground until Ctrl-C or SIGTERM.
 * See docs/local-cloud.md.
 */
import { parseArgs } from 'node:util';
import {
  defaultPortBase,
  type LocalCloud,
  type LocalCloudProgress,
  portOffsets,
  startLocalCloud,
  tokenCurl,
} from './cloud.ts';
import { localCredentials, localRegion } from './net.ts';

const usage = `Usage: npm start -- [options]

Starts greco's local cloud: synthesizes the CDK app, starts DynamoDB Local and the S3, Lambda,
Step Functions, EventBridge and API emulators, deploys the templates into them, and prints the
endpoints. Ctrl-C stops everything.

Options:
  --persist          keep DynamoDB tables and S3 objects under .greco/data (Lambda functions are re-created)
  --port-base N      use ports N (API) to N+6, and N+10.. for more HTTP endpoints (default ${defaultPortBase})
  --work-dir DIR     folder for cdk.out, local.json and data (default .greco)
  --help             show this help
`;

function parse(argv: string[]): { persist: boolean; portBase: number; workDir: string | undefined } | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      persist: { type: 'boolean', default: false },
      'port-base': { type: 'string' },
      'work-dir': { type: 'string' },
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
  return { persist: values.persist, portBase, workDir: values['work-dir'] };
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
  if (cloud.stateFile !== undefined) lines.push('', `The same as JSON: ${cloud.stateFile}`);
  lines.push('', 'Ctrl-C stops everything.');
  return lines.join('\n');
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
    `greco local cloud: ports ${args.portBase}-${args.portBase + portOffsets.issuer}${args.persist ? ', persistent data' : ''}`,
  );
  let stopRequested = false;
  let cloud: LocalCloud | undefined;
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      stopRequested = true;
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
      onProgress: (event) => console.log(progressLine(event)),
    });
  } catch (error) {
    console.error(`greco: ${(error as Error).message}`);
    return 1;
  }
  if (!stopRequested) {
    console.log(summary(cloud));
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
