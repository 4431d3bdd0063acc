// index.d.ts type-checks a small usage file (npm/test/usage.ts) under
// `tsc --strict`, resolved through the installed package as a user's project
// would (moduleResolution nodenext). Skipped when ZIPCHAIN_TSC is unset.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const tsc = process.env.ZIPCHAIN_TSC;
const skip = tsc && existsSync(tsc) ? false : 'ZIPCHAIN_TSC (the TypeScript compiler) not set';

test('index.d.ts: the usage file compiles under --strict, misuse is a type error', { skip }, () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const run = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--lib', 'es2022,dom', '--skipLibCheck', 'false', join(here, 'usage.ts')],
    { cwd: here, encoding: 'utf8' },
  );
  assert.equal(run.status, 0, `tsc failed:\n${run.stdout}${run.stderr}`);
});
