// Runs one test file under `node --test` against a chosen database; meson calls this for the
// integration and compat suites (node alone cannot read the PostgreSQL URL at run time or turn
// a missing database into a skip).
//
//   node run.mjs sqlite <file.test.mjs>
//   node run.mjs postgres <file.test.mjs>   URL from $TAVERN_TEST_PG; when unset this fails,
//                                           or exits 77 (skip) if TAVERN_SKIP_PG=1
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const SKIP = 77;
const [db, file, ...rest] = process.argv.slice(2);
const testsDir = dirname(dirname(fileURLToPath(import.meta.url)));

function fail(msg) {
  console.error(`run.mjs: ${msg}`);
  process.exit(1);
}

if (!file || !['sqlite', 'postgres'].includes(db)) fail('usage: node run.mjs sqlite|postgres <file> [node --test args]');
if (!process.env.TAVERN_BIN) fail('TAVERN_BIN is not set (meson sets it to the tavern binary)');
if (!existsSync(join(testsDir, 'node_modules', 'ws')) || !existsSync(join(testsDir, 'node_modules', '@heroiclabs', 'nakama-js')))
  fail(`the test dependencies are missing: run "npm ci" in ${testsDir}`);

const env = { ...process.env, NODE_PATH: join(testsDir, 'node_modules') };
if (db === 'postgres') {
  const url = process.env.TAVERN_TEST_PG;
  if (!url) {
    if (process.env.TAVERN_SKIP_PG === '1') {
      console.error('run.mjs: TAVERN_TEST_PG is unset and TAVERN_SKIP_PG=1: skipping the PostgreSQL run');
      process.exit(SKIP);
    }
    fail('TAVERN_TEST_PG is unset: set it to a PostgreSQL URL (export TAVERN_TEST_PG=$(bash tests/pg-setup.sh)) ' +
      'or set TAVERN_SKIP_PG=1 to skip the PostgreSQL runs');
  }
  if (!/^postgres(ql)?:\/\//.test(url)) fail(`TAVERN_TEST_PG must be a postgres:// URL, not ${JSON.stringify(url)}`);
  env.TAVERN_TEST_DB = url;
} else {
  env.TAVERN_TEST_DB = 'sqlite';
}

const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...rest, file], { stdio: 'inherit', env });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  if (signal) fail(`node --test died of ${signal}`);
  process.exit(code ?? 1);
});
