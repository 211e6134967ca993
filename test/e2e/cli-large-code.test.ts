/**
 * Large code end to end (issue 16): a function whose zip is about 20 MB (above the inline limit)
 * is deployed by `greco apply`, which uploads it through a presigned URL (`POST /v1/artifacts`)
 * and refers to it by sha256; the function is then invoked and reads its large file.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { cliRunner } from '../support/cli.ts';

/** Size of the incompressible file in the function's folder, in bytes (20 MiB). */
const blobBytes = 20 * 1024 * 1024;

/** `length` pseudo-random bytes (SHA-256 in counter mode): deflate cannot shrink them. */
function incompressible(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0, i = 0; at < length; at += 32, i += 1) {
    createHash('sha256').update(`greco-large-code-${i}`).digest().copy(out, at);
  }
  return out;
}

describe('large code through greco apply', () => {
  let cloud: LocalCloud;
  let workDir: string;
  let appDir: string;
  const greco = cliRunner(
    () => workDir,
    () => appDir,
  );
  const blob = incompressible(blobBytes);

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'greco-large-code-'));
    appDir = join(workDir, 'app');
    await mkdir(join(appDir, 'functions', 'big'), { recursive: true });
    await writeFile(join(appDir, 'functions', 'big', 'blob.bin'), blob);
    await writeFile(
      join(appDir, 'functions', 'big', 'index.mjs'),
      [
        "import { createHash } from 'node:crypto';",
        "import { readFileSync } from 'node:fs';",
        'export const handler = async () => {',
        "  const bytes = readFileSync(new URL('./blob.bin', import.meta.url));",
        "  return { sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };",
        '};',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(appDir, 'greco.yaml'),
      'functions:\n  big:\n    code: functions/big\n    runtime: nodejs24.x\n    handler: index.handler\n    timeoutSeconds: 30\n',
    );
    cloud = await startLocalCloud({ ports: 'ephemeral', workDir });
    expect((await greco('login', '--workspace', 'largecode')).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await cloud?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('uploads a 20 MB zip through a presigned URL, deploys it and invokes it', async () => {
    // Act
    const applied = await greco('apply', '-f', 'greco.yaml');
    const invoked = await greco('--json', 'invoke', 'big', '--payload', '{}');

    // Assess
    expect(applied.code, applied.err + applied.out).toBe(0);
    expect(applied.err).toMatch(/uploading big: 100% of \d+ bytes/);
    expect(applied.out).toContain('is live');
    expect(invoked.code, invoked.err).toBe(0);
    expect(JSON.parse(invoked.out).payload).toEqual({
      sizeBytes: blobBytes,
      sha256: createHash('sha256').update(blob).digest('hex'),
    });
  }, 120_000);
});
