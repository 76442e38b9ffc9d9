/**
 * The uplink path's batch threads (decoding; storage on an SQLite file) run below the event
 * loop's priority (see lowerPriorityOfThisThread). Linux only: elsewhere priorities are the
 * process's, and the threads leave them alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UplinkDecoder } from '../src/uplinks/uplink-decoder.js';
import { createUplinkStorage } from '../src/uplinks/uplink-storage.js';
import { startTestApp, type TestApp } from './harness/app.js';

/** The nice value of a task of this process, from /proc (field 19 of its stat line). */
function niceOf(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** The main thread's nice value (the event loop's). */
const mainNice = () => niceOf(`/proc/self/task/${process.pid}/stat`);

/** How many threads of this process run 5 below the main thread's priority. */
function lowered(): number {
  const main = mainNice();
  return readdirSync('/proc/self/task').filter(
    (tid) => niceOf(`/proc/self/task/${tid}/stat`) === Math.min(19, main + 5),
  ).length;
}

describe.runIf(process.platform === 'linux')('batch thread priority', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs the uplink decoding thread below the event loop', async () => {
    const before = lowered();
    const decoder = new UplinkDecoder(pino({ level: 'silent' }));
    try {
      await decoder.decode(
        {
          network: { id: 'network-1', protocol: 'ttn-v2' },
          application: { id: 'application-1', remoteId: 'acme-app' },
        },
        null,
        {
          remoteDeviceId: 'sensor-1',
          topic: 'acme-app/devices/sensor-1/up',
          payload: Buffer.from(JSON.stringify({ dev_id: 'sensor-1', port: 1, counter: 1 })),
          receivedAtMs: Date.now(),
        },
      );
      expect(lowered()).toBe(before + 1);
    } finally {
      await decoder.close();
    }
    expect(lowered()).toBe(before);
  });

  it('runs the uplink storage thread below the event loop, and leaves the event loop be', async () => {
    const before = lowered();
    const eventLoop = mainNice();
    const storage = createUplinkStorage({
      db: t.db,
      config: t.config.database,
      log: t.app.log,
    });
    try {
      await storage.run('insertUplinks', 'sqlite', []);
      expect(lowered()).toBe(before + 1);
      expect(mainNice()).toBe(eventLoop);
    } finally {
      await storage.close();
    }
    expect(lowered()).toBe(before);
  });
});
