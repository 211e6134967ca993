/**
 * The checked-in OpenAPI documents, the client types generated from them, and how to regenerate
 * both: `npm run openapi` runs this file, which writes the documents (then Biome formats them) and
 * support/generated/management-api.d.ts, the openapi-typescript types that openapi-fetch's
 * `createClient<paths>()` takes (support/codegen/); test/unit/openapi.test.ts regenerates them and
 * compares them with the files.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { hotPathDocument, managementApiDocument, renderDocument } from '../core/http/openapi.ts';
import { openApiTypes } from './codegen/openapi-typescript.ts';

/** The repository root. */
const root = resolve(import.meta.dirname, '..');

/** One checked-in document: its path from the repository root and its generated text. */
export interface OpenApiFile {
  readonly path: string;
  readonly text: string;
}

/** The documents as generated now: the management API's and the hot path's. */
export function generatedOpenApiFiles(): OpenApiFile[] {
  return [
    { path: 'docs/openapi.json', text: renderDocument(managementApiDocument()) },
    { path: 'docs/openapi-hotpath.json', text: renderDocument(hotPathDocument()) },
  ];
}

/**
 * The client types as generated now from the management API document by openapi-typescript:
 * `paths`, `components` and `operations`, for `createClient<paths>()` of openapi-fetch. Loads the
 * TypeScript 5 compiler (about a second).
 */
export async function generatedClientFiles(): Promise<OpenApiFile[]> {
  return [
    { path: 'support/generated/management-api.d.ts', text: await openApiTypes(managementApiDocument()) },
  ];
}

/** Absolute path of a checked-in document. */
export function repositoryPath(path: string): string {
  return resolve(root, path);
}

if (import.meta.main) {
  for (const file of [...generatedOpenApiFiles(), ...(await generatedClientFiles())]) {
    await writeFile(repositoryPath(file.path), file.text);
    console.log(`wrote ${file.path}`);
  }
}
