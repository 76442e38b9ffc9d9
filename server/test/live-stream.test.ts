/**
 * The live view's stream (uplinks/live.ts) against a real database: a client that leaves while
 * the first page is read leaves nothing behind (no listener, no timers, nothing written).
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORED_EVENT, streamUplinks } from '../src/uplinks/live.js';
import { startTestApp, type TestApp } from './harness/app.js';

describe('live uplink stream', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(async () => t?.close());

  it('cleans up after a client that left during the first read', async () => {
    const bus = new EventEmitter();
    const written: string[] = [];
    let close: (() => void) | undefined;
    const streaming = streamUplinks(
      { db: t.db, bus, stillAllowed: async () => true },
      '00000000-0000-4000-8000-000000000000',
      {
        write: (chunk) => written.push(chunk),
        end: () => undefined,
        onClose: (listener) => (close = listener),
      },
    );
    // The first page is being read (a database round trip): the client goes.
    expect(close).toBeDefined();
    close!();
    await streaming;
    expect(bus.listenerCount(STORED_EVENT)).toBe(0);
    expect(written).toEqual([]);
  });
});
