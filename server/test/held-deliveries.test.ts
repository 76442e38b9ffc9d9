import { describe, expect, it } from 'vitest';
import { HeldDeliveries, type HeldDelivery } from '../src/uplinks/held-deliveries.js';

const limits = { perApplication: 4, total: 6, requestsPerApplication: 2, requests: 3 };

function item(applicationId: string, n: number): HeldDelivery {
  return {
    delivery: {
      uplink_id: `${applicationId}-${n}`,
      application_id: applicationId,
      attempts: 0,
      created_at: '2026-11-28T00:00:00.000Z',
      document: '{}',
    },
    body: '{}',
    leaseUntil: 0,
  };
}

const ids = (items: HeldDelivery[]) => items.map((h) => h.delivery.uplink_id);
const never = () => false;

describe('held deliveries', () => {
  it('reserves room within the per-application and total limits', () => {
    const held = new HeldDeliveries(limits);
    expect(held.reserve('a', 10)).toBe(4);
    expect(held.reserve('b', 10)).toBe(2);
    expect(held.room).toBe(0);
    held.unreserve('a', 3);
    expect(held.of('a')).toBe(1);
    expect(held.room).toBe(3);
  });

  it('sends in order, at most the requests allowed per application and in all', () => {
    const held = new HeldDeliveries(limits);
    for (let n = 0; n < 3; n++) held.add(item('a', n), false);
    for (let n = 0; n < 2; n++) held.add(item('b', n), false);
    const first = held.takeSendable(never);
    expect(ids(first)).toEqual(['a-0', 'a-1', 'b-0']);
    expect(held.inFlight).toBe(3);

    // A request of b ends: the slot is anyone's, but a still has two in flight.
    held.finish(first[2]!);
    expect(ids(held.takeSendable(never))).toEqual(['b-1']);
    held.finish(first[0]!);
    expect(ids(held.takeSendable(never, 'a'))).toEqual(['a-2']);
    expect(held.of('a')).toBe(2);
    expect(held.room).toBe(limits.total - 3);
  });

  it('gives a failing application one request at a time, and lets go of what waits', () => {
    const held = new HeldDeliveries(limits);
    for (let n = 0; n < 4; n++) held.reserve('a', 1);
    for (let n = 0; n < 4; n++) held.add(item('a', n), true);
    expect(held.of('a')).toBe(4);
    const failing = (app: string) => app === 'a';
    expect(ids(held.takeSendable(failing))).toEqual(['a-0']);
    expect(ids(held.dropWaiting('a'))).toEqual(['a-1', 'a-2', 'a-3']);
    expect(held.of('a')).toBe(1);
    expect([...held.waiting()]).toEqual([]);
    expect([...held.applications()]).toEqual(['a']);
  });
});
