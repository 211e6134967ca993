#!/usr/bin/env node
// The `greco` bin: npm's shims run this with the `node` on PATH. greco's sources are TypeScript
// run natively by Node.js 24 (type stripping); older Node.js gets one clear line instead.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `greco: Node.js 24 or newer is needed (this is ${process.version}); run it through npx in the greco folder (npm ci installs Node.js 24)\n`,
  );
  process.exit(1);
}
const { runCli } = await import('./main.ts');
const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.exitCode = await runCli(process.argv.slice(2), { signal: controller.signal });
