// Part of `npm run architecture` (docs/architecture.md): every source file of what `cdk deploy`
// ships (domain/, hotpath/, core/, lib/, lambdas/) stays under 800 lines, so that a file does one
// job. Prints each file over the limit with its line count and exits 1; prints nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['domain', 'hotpath', 'core', 'lib', 'lambdas'];
const maxLines = 800;

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mjs|js)$/.test(entry.name)) yield path;
  }
}

let over = 0;
for (const root of roots) {
  for (const file of sourceFiles(root)) {
    const lines = readFileSync(file, 'utf8').split('\n').length - 1;
    if (lines >= maxLines) {
      console.error(
        `file-too-long: ${file} has ${lines} lines (limit: under ${maxLines}; split it by responsibility)`,
      );
      over += 1;
    }
  }
}
process.exitCode = over === 0 ? 0 : 1;
