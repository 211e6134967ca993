import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { CodeStore, codeSha256 } from '../../local/lambda/code.ts';

describe('CodeStore', () => {
  const root = mkdtempSync(join(tmpdir(), 'greco-lambda-code-'));
  const store = new CodeStore(root);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('unpacks a zip once and reports Lambda CodeSha256 (base64 SHA-256 of the zip)', () => {
    const zip = zipSync({
      'index.mjs': strToU8('export const handler = async () => 1;'),
      'lib/util.js': strToU8('x'),
    });
    const artifact = store.put(zip);
    expect(artifact.sha256).toBe(createHash('sha256').update(zip).digest('base64'));
    expect(codeSha256(zip)).toBe(artifact.sha256);
    expect(artifact.sizeBytes).toBe(zip.byteLength);
    expect(readFileSync(join(artifact.dir, 'lib/util.js'), 'utf8')).toBe('x');
    expect(store.put(zip)).toBe(artifact);
  });

  it('refuses bytes that are not a zip', () => {
    expect(() => store.put(strToU8('not a zip'))).toThrow(
      expect.objectContaining({
        name: 'InvalidParameterValueException',
        message: 'Could not unzip uploaded file. Please check your file, then try to upload again.',
      }),
    );
  });

  it('refuses an entry that escapes the package and writes nothing', () => {
    const zip = zipSync({ '../escape.js': strToU8('x'), 'index.js': strToU8('y') });
    expect(() => store.put(zip)).toThrow(/entry '..\/escape.js' points outside the deployment package/);
    expect(existsSync(join(root, 'escape.js'))).toBe(false);
    expect(existsSync(join(root, 'code', createHash('sha256').update(zip).digest('hex')))).toBe(false);
  });

  it('prunes packages no longer in use', () => {
    const kept = store.put(zipSync({ 'a.js': strToU8('kept') }));
    const dropped = store.put(zipSync({ 'a.js': strToU8('dropped') }));
    store.prune(new Set([kept.sha256Hex]));
    expect(existsSync(kept.dir)).toBe(true);
    expect(existsSync(dropped.dir)).toBe(false);
    expect(existsSync(dropped.zipPath)).toBe(false);
  });
});
