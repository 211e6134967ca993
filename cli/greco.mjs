#!/usr/bin/env node
// The `greco` bin. npm's links (`npm link`, `npm install -g <repository>`) run it with the `node`
// on PATH, which may be older than greco needs: greco's sources are TypeScript that Node.js 24
// runs natively (type stripping). Under an older Node.js this file runs itself again on the
// repository's own Node.js 24 (node_modules/node/bin/node, which npm ci installs, found from this
// file's real path through npm's symlinks), passing the arguments, the terminal, signals and the
// exit code through. Only if that binary is missing does it stop, with one line saying so.
// Plain JavaScript on purpose: it must parse on any Node.js that can report the problem.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const neededMajor = 24;
const major = Number(process.versions.node.split('.')[0]);

if (major < neededMajor) {
  const self = realpathSync(fileURLToPath(import.meta.url));
  const repository = dirname(dirname(self));
  const node = join(repository, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node)) {
    process.stderr.write(
      `greco: Node.js ${neededMajor} or newer is needed (this is ${process.version}) and the repository's own is missing (${node}): run npm ci in ${repository}\n`,
    );
    process.exit(1);
  }
  const child = spawn(node, [self, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Signals sent to this process go on to greco. A Ctrl-C reaches both (the terminal signals the
  // whole foreground group); greco counts the two as one interrupt (see below).
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of forwarded) process.on(signal, forward);
  child.once('error', (error) => {
    process.stderr.write(`greco: cannot run ${node}: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const name of forwarded) process.off(name, forward);
    if (signal !== null) {
      // Ended by a signal: end the same way, so that the shell sees what it would have seen.
      process.kill(process.pid, signal);
      return;
    }
    process.exitCode = code ?? 1;
  });
} else {
  const { runCli } = await import('./main.ts');
  const controller = new AbortController();
  // The first Ctrl-C stops the command; one that arrives within `sameInterruptMs` is the same
  // Ctrl-C forwarded by a parent `greco` on an older Node.js; a later one ends the process.
  const sameInterruptMs = 500;
  let interruptedAt;
  process.on('SIGINT', () => {
    if (interruptedAt === undefined) {
      interruptedAt = Date.now();
      controller.abort();
    } else if (Date.now() - interruptedAt > sameInterruptMs) {
      process.exit(130);
    }
  });
  process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
}
