/**
 * What one stage of the uplink pipeline holds, and flow control on it: from `high` uplinks on,
 * `ready()` asks the subscriptions to stop reading until the stage is back down to `low`.
 * Memory stays bounded whatever the network sends; its broker holds the rest.
 */
export class Backlog {
  private held = 0;
  private belowLow: Promise<void> | undefined;
  private resume: (() => void) | undefined;

  constructor(
    private readonly high: number,
    private readonly low: number,
  ) {}

  get size(): number {
    return this.held;
  }

  add(count: number): void {
    this.held += count;
  }

  remove(count: number): void {
    this.held -= count;
    if (this.resume === undefined || this.held > this.low) return;
    this.resume();
    this.resume = undefined;
    this.belowLow = undefined;
  }

  /** Undefined while the stage takes more; else resolves once it is back down to `low`. */
  ready(): Promise<void> | undefined {
    if (this.belowLow === undefined && this.held < this.high) return undefined;
    this.belowLow ??= new Promise((resolve) => (this.resume = resolve));
    return this.belowLow;
  }
}
