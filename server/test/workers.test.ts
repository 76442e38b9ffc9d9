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

  it('runs a round at once when woken, during its idle wait or during a round', async () => {
    let rounds = 0;
    let release: (() => void) | undefined;
    const worker = loopWorker('test', { idleMs: 60_000, log }, async () => {
      rounds++;
      if (rounds === 2) await new Promise<void>((resolve) => (release = resolve));
      return { more: false };
    });
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    worker.start();
    await until(() => rounds === 1); // idle now, for a minute unless woken
    worker.wake();
    await until(() => release !== undefined); // the second round is running
    worker.wake();
    release!();
    await until(() => rounds === 3); // woken during the round: no idle wait after it
    await worker.stop();
    expect(rounds).toBe(3);
  });
});
