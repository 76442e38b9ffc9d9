/** The loop worker: rounds back to back while there is work, a pause when there is none, a prompt stop. */
import { getEventListeners } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loopWorker } from '../src/workers/worker.js';

const log = pino({ level: 'silent' });

describe('loopWorker', () => {
  it('runs rounds back to back while they report more work, then idles', async () => {
    let rounds = 0;
    const worker = loopWorker('test', { idleMs: 60_000, log }, async () => ({
      more: ++rounds < 5,
    }));
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Four rounds with more work, the fifth without: the worker now waits for its idle period.
    expect(rounds).toBe(5);
    const started = Date.now();
    await worker.stop();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('keeps going after a failed round and does not pile up abort listeners while idling', async () => {
    let rounds = 0;
    let signal: AbortSignal | undefined;
    const worker = loopWorker('test', { idleMs: 5, log }, async (s) => {
      signal = s;
      rounds++;
      if (rounds === 1) throw new Error('first round fails');
      return { more: false };
    });
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(rounds).toBeGreaterThan(10);
    expect(getEventListeners(signal!, 'abort').length).toBeLessThanOrEqual(1);
    await worker.stop();
    const after = rounds;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rounds).toBe(after);
  });
});
