/**
 * Device list answers, kept per process as the UTF-8 bytes that are sent, each valid for one
 * devices version of its application (`applications.devices_version`, raised in the same
 * transaction as every write to the application's devices). A list request reads that version
 * as its access check (on PostgreSQL this process knows it: devices-version-watch.ts); when an
 * answer for the same page and version is here, it is sent as it is: no device query, no
 * serialization, no encoding. A version read is the committed one, so an answer is never
 * older than the write its reader has seen (a known one, once that write was notified).
 *
 * Bounded by the bytes it holds; the least recently used answers go first.
 */
export class DevicePageCache {
  private readonly entries = new Map<string, { version: number; body: Buffer }>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The answer for this page of the application at this version, if held. */
  get(applicationId: string, version: number, page: string): Buffer | undefined {
    const key = `${applicationId}\n${page}`;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.version !== version) {
      this.remove(key, entry.body);
      return undefined;
    }
    // Most recently used last, so eviction takes the first.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.body;
  }

  set(applicationId: string, version: number, page: string, body: Buffer): void {
    if (body.length > this.maxBytes) return;
    const key = `${applicationId}\n${page}`;
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old.body);
    this.entries.set(key, { version, body });
    this.bytes += body.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest, entry.body);
    }
  }

  private remove(key: string, body: Buffer): void {
    this.entries.delete(key);
    this.bytes -= body.length;
  }
}
