/**
 * The checked-in OpenAPI documents and how to regenerate them: `npm run openapi` runs this file,
 * which writes them (then Biome formats them); test/unit/openapi.test.ts regenerates them and
 * compares them, as JSON, with the files.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { hotPathDocument, managementApiDocument, renderDocument } from '../core/http/openapi.ts';

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

/** Absolute path of a checked-in document. */
export function repositoryPath(path: string): string {
  return resolve(root, path);
}

if (import.meta.main) {
  for (const file of generatedOpenApiFiles()) {
    await writeFile(repositoryPath(file.path), file.text);
    console.log(`wrote ${file.path}`);
  }
}
