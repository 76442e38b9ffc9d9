import { describe, expect, it } from 'vitest';
import {
  HeldDeliveries,
  type HeldClaim,
  type HeldDelivery,
} from '../src/uplinks/held-deliveries.js';

// Documents as many as claims: nothing is spilled unless a test says so.
const limits = {
  perApplication: 4,
  total: 6,
  documentsPerApplication: 4,
  documents: 6,
  requestsPerApplication: 2,
  requests: 3,
};

function item(applicationId: string, n: number): HeldDelivery {
  return {
    delivery: {
      uplink_id: `${applicationId}-${n}`,
      application_id: applicationId,
      attempts: 0,
      created_at: '2026-11-28T00:00:00.000Z',
    },
    body: `{"n":${n}}`,
    leaseUntil: 0,
  };
}

const ids = (items: Iterable<HeldClaim>) => [...items].map((h) => h.delivery.uplink_id);
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

  it('holds deliveries past its documents without them, and gives them back in order to read', () => {
    const held = new HeldDeliveries({
      ...limits,
      perApplication: 8,
      total: 12,
      documentsPerApplication: 2,
      documents: 3,
    });
    expect(held.reserve('a', 6)).toBe(6);
    for (let n = 0; n < 6; n++) held.add(item('a', n), true);
    expect(held.of('a')).toBe(6);
    expect(held.documentsOf('a')).toBe(2);
    expect(held.spilledOf('a')).toBe(4);
    // A spilled delivery keeps no document.
    expect([...held.waiting()].map((h) => 'body' in h)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
    ]);

    // No room for documents: nothing to read back until something is sent.
    expect(held.takeSpilled('a', 10)).toEqual([]);
    const sent = held.takeSendable(never);
    expect(ids(sent)).toEqual(['a-0', 'a-1']);
    held.finish(sent[0]!);
    held.finish(sent[1]!);

    // Room for two documents: the two oldest come back, the next one waits behind them.
    const taken = held.takeSpilled('a', 10);
    expect(ids(taken)).toEqual(['a-2', 'a-3']);
    expect(held.documentsOf('a')).toBe(2);
    expect(held.spilledOf('a')).toBe(4);
    // A new delivery while some are spilled is spilled too, behind them.
    held.add(item('a', 6), false);
    expect(held.spilledOf('a')).toBe(5);

    // Reading back failed: they are spilled again, in front.
    held.unload('a', taken);
    expect(ids(held.takeSpilled('a', 1))).toEqual(['a-2']);
    // a-2 was read back; a-3 is no longer pending.
    held.loaded(item('a', 2));
    expect(ids(held.takeSendable(never))).toEqual(['a-2']);
    const next = held.takeSpilled('a', 10);
    expect(ids(next)).toEqual(['a-3']);
    held.notLoaded('a', 1);
    expect(held.of('a')).toBe(4);
    expect(held.documentsOf('a')).toBe(1);

    // The endpoint fails: what waits goes, spilled or not; what is sent stays counted.
    expect(ids(held.dropWaiting('a'))).toEqual(['a-4', 'a-5', 'a-6']);
    expect(held.of('a')).toBe(1);
    expect(held.room).toBe(11);
  });

  it('keeps documents within the limit of all applications together', () => {
    const held = new HeldDeliveries({ ...limits, documentsPerApplication: 2, documents: 3 });
    for (let n = 0; n < 2; n++) held.add(item('a', n), false);
    for (let n = 0; n < 2; n++) held.add(item('b', n), false);
    expect(held.documentsOf('a')).toBe(2);
    expect(held.documentsOf('b')).toBe(1);
    expect(held.spilledOf('b')).toBe(1);
    expect(held.takeSpilled('b', 1)).toEqual([]);
    const [first] = held.takeSendable((app) => app === 'a');
    held.finish(first!);
    expect(ids(held.takeSpilled('b', 1))).toEqual(['b-1']);
  });
});
