import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `greco local`: runs the local cloud in the foreground, as `npm start` does. */
export const local: Command = {
  name: 'local',
  summary: 'run the local cloud in the foreground (what npm start does)',
  usage: `Usage: greco local [--persist] [--port-base N] [--work-dir DIR] [--no-example] [--verbose]

Runs node local/main.ts with the same options (see docs/local-cloud.md) until Ctrl-C; --verbose
also prints the functions' output (otherwise in CloudWatch Logs: greco logs NAME). Once the
local cloud is ready it logs the CLI in as workspace demo with every role and applies the
example fleet (examples/fleet/greco.yaml; --no-example skips that). Then, in another terminal:
greco invoke greeter --payload '{"name":"Ada"}', greco apply -f examples/fleet/greco.yaml.
`,
  async run(args, ctx) {
    // --verbose is a global option of greco: npm start takes it as its own.
    const forwarded = ctx.verbose ? [...args, '--verbose'] : args;
    const child = spawn(process.execPath, [resolve(projectDir, 'local/main.ts'), ...forwarded], {
      cwd: projectDir,
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await new Promise<number>((resolvePromise, reject) => {
        child.once('error', reject);
        child.once('exit', (code, signal) => resolvePromise(code ?? (signal === null ? 1 : 0)));
      });
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  },
};
