/**
 * Function inputs and code zips shared by the tests and the benchmarks: small, valid and
 * deterministic (the same seed always gives the same bytes).
 */
import { zipSync } from 'fflate';

/**
 * A small, valid zip with an `index.mjs` whose text includes `seed`: the same seed always gives
 * the same bytes (fixed timestamps), distinct seeds distinct hashes.
 */
export function sampleZip(seed = 'hello'): Uint8Array {
  const source = `export const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(seed)} });\n`;
  return zipSync(
    { 'index.mjs': new TextEncoder().encode(source) },
    { mtime: new Date('2026-01-01T00:00:00Z') },
  );
}

/** {@link sampleZip} as base64, for `code.zipBase64`. */
export function sampleZipBase64(seed = 'hello'): string {
  return Buffer.from(sampleZip(seed)).toString('base64');
}

/** A function as a client sends it, with inline code; `overrides` replace or add fields. */
export function functionInput(
  name: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    runtime: 'nodejs24.x',
    handler: 'index.handler',
    code: { zipBase64: sampleZipBase64(name) },
    ...overrides,
  };
}
