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
  // fd 3: an IPC channel, over which Ctrl-C is passed on (see below).
  const child = spawn(node, [self, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  let ready = false;
  child.on('message', (message) => {
    if (message?.type === 'greco-ready') ready = true;
  });
  // Signals sent to this process go on to greco. A Ctrl-C reaches both processes (the terminal
  // signals the whole foreground process group), so SIGINT goes on as a message, which greco
  // counts apart from the SIGINTs it gets itself: one Ctrl-C is one interrupt, never two, and
  // no second SIGINT can end greco while it is exiting. Before greco listens, SIGINT goes on as is.
  const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  const forward = (signal) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (signal !== 'SIGINT' || !ready) {
      child.kill(signal);
    } else if (child.connected) {
      // Once greco listens, never a second SIGINT: a greco that is exiting (its channel closing)
      // would die of it. A message it can no longer read is dropped.
      child.send({ type: 'greco-interrupt' }, () => {});
    }
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
  // The first interrupt stops the command, a second one ends the process. An interrupt is a
  // SIGINT, or a message from a parent greco on an older Node.js that got one: a Ctrl-C brings
  // one of each, so the two are counted apart and the larger count is the number of interrupts.
  const interrupts = { signals: 0, messages: 0 };
  const interrupted = (source) => {
    interrupts[source] += 1;
    const count = Math.max(interrupts.signals, interrupts.messages);
    if (count === 1 && !controller.signal.aborted) controller.abort();
    else if (count > 1) process.exit(130);
  };
  process.on('SIGINT', () => interrupted('signals'));
  if (process.send !== undefined) {
    process.on('message', (message) => {
      if (message?.type === 'greco-interrupt') interrupted('messages');
    });
    // The channel must not keep greco running once the command is done.
    process.channel?.unref();
    process.send({ type: 'greco-ready' });
  }
  process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
}
