/**
 * The deliveries one process holds: claimed in the database (their claim keeps other processes
 * off them), waiting here for a request slot or being sent. Holding more than can be sent at
 * once lets claims and hand-overs come in large batches — one claim query for hundreds of
 * deliveries instead of one per few — while the number of requests to one endpoint stays
 * capped.
 *
 * Pure bookkeeping: no database, no timers. The delivery worker decides what to hold and sends
 * what `takeSendable` gives it.
 */
import Denque from 'denque';
import type { ClaimedDelivery } from './uplinks.repository.js';

export interface HeldDelivery {
  delivery: ClaimedDelivery;
  body: string;
  /** When the claim in the database runs out (ms since the epoch). */
  leaseUntil: number;
}

export interface HoldLimits {
  /** Deliveries held per application (waiting, being sent, or reserved). */
  perApplication: number;
  /** Deliveries held in all. */
  total: number;
  /** Requests at once to one application's endpoint. */
  requestsPerApplication: number;
  /** Requests at once in all. */
  requests: number;
}

interface ApplicationHold {
  /** Thousands at a time under load: a deque, taken from the front without moving the rest. */
  waiting: Denque<HeldDelivery>;
  sending: number;
  reserved: number;
}

export class HeldDeliveries {
  private readonly byApplication = new Map<string, ApplicationHold>();
  private held = 0;
  private sending = 0;

  constructor(private readonly limits: HoldLimits) {}

  /** Deliveries held (or reserved) for the application. */
  of(applicationId: string): number {
    const hold = this.byApplication.get(applicationId);
    return hold === undefined ? 0 : hold.waiting.length + hold.sending + hold.reserved;
  }

  /** Room for more deliveries in all. */
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

  /** Holds a claimed delivery; `reserved`: in room taken by reserve(). */
  add(item: HeldDelivery, reserved: boolean): void {
    const hold = this.hold(item.delivery.application_id);
    if (reserved) hold.reserved--;
    else this.held++;
    hold.waiting.push(item);
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
    this.held--;
    this.forgetIfEmpty(applicationId, hold);
  }

  /** Lets go of the application's waiting deliveries (its endpoint failed); returns them. */
  dropWaiting(applicationId: string): HeldDelivery[] {
    const hold = this.byApplication.get(applicationId);
    if (hold === undefined) return [];
    const dropped = hold.waiting.toArray();
    hold.waiting.clear();
    this.held -= dropped.length;
    this.forgetIfEmpty(applicationId, hold);
    return dropped;
  }

  /** The applications with deliveries held. */
  applications(): Iterable<string> {
    return this.byApplication.keys();
  }

  /** Every waiting delivery, e.g. to renew claims before they run out. */
  *waiting(): Iterable<HeldDelivery> {
    for (const hold of this.byApplication.values()) yield* hold.waiting.toArray();
  }

  private hold(applicationId: string): ApplicationHold {
    let hold = this.byApplication.get(applicationId);
    if (hold === undefined) {
      hold = { waiting: new Denque(), sending: 0, reserved: 0 };
      this.byApplication.set(applicationId, hold);
    }
    return hold;
  }

  private forgetIfEmpty(applicationId: string, hold: ApplicationHold): void {
    if (hold.waiting.length === 0 && hold.sending === 0 && hold.reserved === 0)
      this.byApplication.delete(applicationId);
  }
}
