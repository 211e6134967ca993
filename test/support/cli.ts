import { runCli } from '../../cli/main.ts';

/** What one CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * Runs the greco CLI in process as a user would from `cwd`, with its state in `workDir`, capturing
 * stdout and stderr. Both are functions so a test can set them in `beforeAll`.
 */
export function cliRunner(workDir: () => string, cwd: () => string) {
  return async (...argv: string[]): Promise<CliRun> => {
    let out = '';
    let err = '';
    const code = await runCli(['--work-dir', workDir(), ...argv], {
      io: { out: (t) => (out += t), err: (t) => (err += t) },
      cwd: cwd(),
      env: {},
      pollIntervalMs: 100,
    });
    return { code, out, err };
  };
}
