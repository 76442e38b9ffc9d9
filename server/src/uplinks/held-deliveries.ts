/**
 * The deliveries one process holds: claimed in the database (their claim keeps other processes
 * off them), waiting here for a request slot or being sent. Holding more than can be sent at
 * once lets claims and hand-overs come in large batches — one claim query for hundreds of
 * deliveries instead of one per few — while the number of requests to one endpoint stays
 * capped.
 *
 * Documents take memory, so only so many are held with their document. Past that, a claimed
 * delivery is held without it ("spilled": ~200 bytes instead of ~1.2 KB) and its
 * document is read back from the database when there is room again. A flood longer than the
 * documents fit thus costs a read by primary key per delivery, not a claim query and a write.
 *
 * Pure bookkeeping: no database, no timers. The delivery worker decides what to hold, sends
 * what `takeSendable` gives it, and reads back what `takeSpilled` gives it.
 */
import Denque from 'denque';
import type { ClaimedDelivery } from './uplinks.repository.js';

/** A delivery this process holds a claim on, with or without its document. */
export interface HeldClaim {
  delivery: Omit<ClaimedDelivery, 'document'>;
  /** When the claim in the database runs out (ms since the epoch). */
  leaseUntil: number;
}

/** A held delivery with its document: it can be sent. */
export interface HeldDelivery extends HeldClaim {
  body: string;
}

export interface HoldLimits {
  /** Claims held per application, with or without their documents (and reserved room). */
  perApplication: number;
  /** Claims held in all. */
  total: number;
  /** Documents in memory per application (waiting, being sent, or being read back). */
  documentsPerApplication: number;
  /** Documents in memory in all. */
  documents: number;
  /** Requests at once to one application's endpoint. */
  requestsPerApplication: number;
  /** Requests at once in all. */
  requests: number;
}

interface ApplicationHold {
  /** Thousands at a time under load: a deque, taken from the front without moving the rest. */
  waiting: Denque<HeldDelivery>;
  /** Held without their documents, oldest first: sent after everything in `waiting`. */
  spilled: Denque<HeldClaim>;
  /** Taken from `spilled`, their documents being read back. */
  loading: number;
  sending: number;
  reserved: number;
  /** Documents in memory: waiting, being sent, or being read back. */
  documents: number;
}

export class HeldDeliveries {
  private readonly byApplication = new Map<string, ApplicationHold>();
  private held = 0;
  private documents = 0;
  private sending = 0;

  constructor(private readonly limits: HoldLimits) {}

  /** Claims held (or reserved) for the application, with or without their documents. */
  of(applicationId: string): number {
    const hold = this.byApplication.get(applicationId);
    return hold === undefined
      ? 0
      : hold.waiting.length + hold.spilled.length + hold.loading + hold.sending + hold.reserved;
  }

  /** Documents in memory for the application. */
  documentsOf(applicationId: string): number {
    return this.byApplication.get(applicationId)?.documents ?? 0;
  }

  /** Deliveries of the application held without their documents (being read back or not). */
  spilledOf(applicationId: string): number {
    const hold = this.byApplication.get(applicationId);
    return hold === undefined ? 0 : hold.spilled.length + hold.loading;
  }

  /** Room for more claims in all. */
  get room(): number {
    return this.limits.total - this.held;
  }

  get inFlight(): number {
    return this.sending;
  }

  /** Takes room for up to `wanted` deliveries of the application; returns how many. */
  reserve(applicationId: string, wanted: number): number {
    const granted = Math.max(
      0,
      Math.min(wanted, this.limits.perApplication - this.of(applicationId), this.room),
    );
    if (granted > 0) {
      this.hold(applicationId).reserved += granted;
      this.held += granted;
    }
    return granted;
  }

  /** Gives back reserved room that was not used. */
  unreserve(applicationId: string, n: number): void {
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined || n <= 0) return;
    hold.reserved -= n;
    this.held -= n;
    this.forgetIfEmpty(applicationId, hold);
  }

  /**
   * Holds a claimed delivery; `reserved`: in room taken by reserve(). It keeps its document if
   * there is room for it and nothing of its application waits without one (which would be
   * passed); else it is spilled.
   */
  add(item: HeldDelivery, reserved: boolean): void {
    const hold = this.hold(item.delivery.application_id);
    if (reserved) hold.reserved--;
    else this.held++;
    if (hold.spilled.length === 0 && hold.loading === 0 && this.documentRoom(hold) > 0) {
      hold.documents++;
      this.documents++;
      hold.waiting.push(item);
      return;
    }
    const { uplink_id, application_id, attempts, created_at } = item.delivery;
    hold.spilled.push({
      delivery: { uplink_id, application_id, attempts, created_at },
      leaseUntil: item.leaseUntil,
    });
  }

  /**
   * Up to `max` of the application's spilled deliveries, oldest first, as many as their
   * documents have room: room is taken for them until `loaded`, `notLoaded` or `unload`.
   */
  takeSpilled(applicationId: string, max: number): HeldClaim[] {
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined) return [];
    const n = Math.min(max, hold.spilled.length, this.documentRoom(hold));
    const taken: HeldClaim[] = [];
    for (let i = 0; i < n; i++) taken.push(hold.spilled.shift()!);
    hold.loading += n;
    hold.documents += n;
    this.documents += n;
    return taken;
  }

  /** A spilled delivery's document was read back: it waits to be sent. */
  loaded(item: HeldDelivery): void {
    const hold = this.hold(item.delivery.application_id);
    hold.loading--;
    hold.waiting.push(item);
  }

  /** Spilled deliveries that are no longer there to send (delivered, purged): no longer held. */
  notLoaded(applicationId: string, n: number): void {
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined || n <= 0) return;
    hold.loading -= n;
    hold.documents -= n;
    this.documents -= n;
    this.held -= n;
    this.forgetIfEmpty(applicationId, hold);
  }

  /** Reading back failed: the deliveries are spilled again, at the front, as they were. */
  unload(applicationId: string, items: readonly HeldClaim[]): void {
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined) return;
    hold.loading -= items.length;
    hold.documents -= items.length;
    this.documents -= items.length;
    for (let i = items.length - 1; i >= 0; i--) hold.spilled.unshift(items[i]!);
  }

  /**
   * The waiting deliveries that may be sent now (of one application, or of all), counted as
   * being sent. `oneAtATime`: applications whose endpoint is failing get a single request.
   */
  takeSendable(oneAtATime: (applicationId: string) => boolean, only?: string): HeldDelivery[] {
    const sendable: HeldDelivery[] = [];
    const take = (applicationId: string, hold: ApplicationHold) => {
      const cap = oneAtATime(applicationId) ? 1 : this.limits.requestsPerApplication;
      while (hold.sending < cap && this.sending < this.limits.requests) {
        const item = hold.waiting.shift();
        if (item === undefined) break;
        hold.sending++;
        this.sending++;
        sendable.push(item);
      }
    };
    if (only !== undefined) {
      const hold = this.byApplication.get(only);
      if (hold !== undefined) take(only, hold);
    } else {
      for (const [applicationId, hold] of this.byApplication) {
        if (this.sending >= this.limits.requests) break;
        take(applicationId, hold);
      }
    }
    return sendable;
  }

  /** A delivery was sent (whatever the outcome): it is no longer held. */
  finish(item: HeldDelivery): void {
    const applicationId = item.delivery.application_id;
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined) return;
    hold.sending--;
    this.sending--;
    hold.documents--;
    this.documents--;
    this.held--;
    this.forgetIfEmpty(applicationId, hold);
  }

  /**
   * Lets go of the application's deliveries that wait, with their documents or spilled (its
   * endpoint failed); returns them.
   */
  dropWaiting(applicationId: string): HeldClaim[] {
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined) return [];
    const waiting = hold.waiting.toArray();
    const spilled = hold.spilled.toArray();
    hold.waiting.clear();
    hold.spilled.clear();
    hold.documents -= waiting.length;
    this.documents -= waiting.length;
    this.held -= waiting.length + spilled.length;
    this.forgetIfEmpty(applicationId, hold);
    return [...waiting, ...spilled];
  }

  /** The applications with deliveries held. */
  applications(): Iterable<string> {
    return this.byApplication.keys();
  }

  /** Every delivery that waits, with its document or spilled, e.g. to renew claims before they run out. */
  *waiting(): Iterable<HeldClaim> {
    for (const hold of this.byApplication.values()) {
      yield* inOrder(hold.waiting);
      yield* inOrder(hold.spilled);
    }
  }

  private documentRoom(hold: ApplicationHold): number {
    return Math.min(
      this.limits.documentsPerApplication - hold.documents,
      this.limits.documents - this.documents,
    );
  }

  private hold(applicationId: string): ApplicationHold {
    let hold = this.byApplication.get(applicationId);
    if (hold === undefined) {
      hold = {
        waiting: new Denque(),
        spilled: new Denque(),
        loading: 0,
        sending: 0,
        reserved: 0,
        documents: 0,
      };
      this.byApplication.set(applicationId, hold);
    }
    return hold;
  }

  private forgetIfEmpty(applicationId: string, hold: ApplicationHold): void {
    if (
      hold.waiting.length === 0 &&
      hold.spilled.length === 0 &&
      hold.loading === 0 &&
      hold.sending === 0 &&
      hold.reserved === 0
    )
      this.byApplication.delete(applicationId);
  }
}

/** A deque's items front to back, read in place (hundreds of thousands, once a second). */
function* inOrder<T>(deque: Denque<T>): Iterable<T> {
  for (let i = 0; i < deque.length; i++) yield deque.peekAt(i)!;
}
