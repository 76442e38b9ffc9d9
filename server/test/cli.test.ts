import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
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

  it('backup --out copies the database, consistent, while another connection keeps writing', async () => {
    const first = await cli(['migrate']);
    await cli(['create-admin', '--username', 'ops'], {}, first.dir);
    // A second connection commits 50 rows at a time, every few milliseconds, all through the
    // backup (as a running server does).
    const live = new SQLite(path.join(first.dir, 'data', 'lpwan.db'));
    live.pragma('journal_mode = WAL');
    live.exec('create table probe (batch integer not null, n integer not null)');
    const insert = live.prepare('insert into probe (batch, n) values (?, ?)');
    let batch = 0;
    const commitBatch = live.transaction(() => {
      batch++;
      for (let n = 0; n < 50; n++) insert.run(batch, n);
    });
    commitBatch();
    const writer = setInterval(commitBatch, 2);
    const out = path.join(first.dir, 'lpwan-backup.db');
    let done;
    try {
      done = await cli(['backup', '--out', 'lpwan-backup.db'], {}, first.dir);
    } finally {
      clearInterval(writer);
    }
    expect(done.stdout).toBe(`${out}\n`);
    expect(done.stderr).toContain('back the key up too');
    expect(batch).toBeGreaterThan(1);
    live.close();

    // A file of its own (no write-ahead log beside it), whole, with whole transactions only.
    expect(existsSync(`${out}-wal`)).toBe(false);
    const copy = new SQLite(out, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(copy.prepare('select username from users').pluck().all()).toEqual(['ops']);
      const rows = copy.prepare('select count(*) from probe').pluck().get() as number;
      expect(rows).toBeGreaterThanOrEqual(50);
      expect(rows % 50).toBe(0);
    } finally {
      copy.close();
    }
  });

  it('backup refuses to overwrite a file, and points PostgreSQL to its own tools', async () => {
    const first = await cli(['migrate']);
    writeFileSync(path.join(first.dir, 'taken.db'), 'the last good backup');
    const taken = await cli(['backup', '--out', 'taken.db'], {}, first.dir).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(taken).toMatchObject({ code: 2, stderr: expect.stringContaining('exists already') });
    expect(readFileSync(path.join(first.dir, 'taken.db'), 'utf8')).toBe('the last good backup');

    const postgres = await cli(['backup', '--out', 'x.db'], {
      DATABASE_URL: 'postgres://127.0.0.1:1/x',
      LPWAN_SECRET_KEY: 'a'.repeat(44),
    }).catch((e: { code: number; stderr: string }) => e);
    expect(postgres).toMatchObject({ code: 2, stderr: expect.stringContaining('pg_dump') });

    const noOut = await cli(['backup'], {}, first.dir).catch((e: { code: number }) => e);
    expect(noOut).toMatchObject({ code: 2 });
  });
});
