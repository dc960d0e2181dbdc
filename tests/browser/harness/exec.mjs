// Running the built binaries (the libra CLI, libra-page): shared by native.mjs and server.mjs.
// Internal: tests/browser/harness.mjs does not re-export it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

export function requireBinary(binary) {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`bash tests/run.sh\` (it builds the libra CLI, the page tool and the page's wasm)`);
}

export const execFileAsync = promisify(execFile);
