import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './harness/temp.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
// The tsx loader by absolute URL: the CLI runs in a temp folder where `tsx` does not resolve.
const tsxLoader = pathToFileURL(
  path.join(
    path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')),
    'dist',
    'loader.mjs',
  ),
).href;

/** Run the CLI from source (tsx), in a temp directory, with a clean environment. */
async function cli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const dir = cwd ?? tempDir('lpwan-test-cli-');
  const result = await run(process.execPath, ['--import', tsxLoader, main, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
  });
  return { ...result, dir };
}

describe('lpwan-server CLI', () => {
  it('openapi --out writes the OpenAPI document without touching ./data', async () => {
    const dir = tempDir('lpwan-test-cli-');
    const out = path.join(dir, 'openapi.json');
    await cli(['openapi', '--out', out], {}, dir);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.paths).toHaveProperty(['/api/networks']);
    expect(() => readFileSync(path.join(dir, 'data', 'lpwan.db'))).toThrow();
  });

  it('migrate, then create-admin prints a generated password once; the key file is generated', async () => {
    const first = await cli(['migrate']);
    expect(first.stderr).toContain('generated a new secret key file');
    expect(first.stdout).toBe('');
    const created = await cli(['create-admin', '--username', 'ops'], {}, first.dir);
    expect(created.stdout).toMatch(/^ops: \S{20,}\n$/);
    const again = await cli(['create-admin', '--username', 'ops'], {}, first.dir).catch(
      (e: { code: number }) => e,
    );
    expect((again as { code: number }).code).toBe(1);
    const reset = await cli(
      ['create-admin', '--username', 'ops', '--reset-password'],
      { LPWAN_ADMIN_PASSWORD: 'a-new-password' },
      first.dir,
    );
    expect(reset.stdout).toContain('password set from LPWAN_ADMIN_PASSWORD');
  });

  it('refuses bad configuration with a clear message', async () => {
    const res = await cli(['migrate'], { DATABASE_URL: 'postgres://127.0.0.1:1/x' }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((res as { code: number }).code).toBe(1);
    expect((res as { stderr: string }).stderr).toContain(
      'LPWAN_SECRET_KEY is required with PostgreSQL',
    );
  });
});
