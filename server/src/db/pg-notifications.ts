/**
 * PostgreSQL notifications (LISTEN/NOTIFY) for this process: one connection of its own that
 * listens on every channel a feature asked for, and comes back after it is lost (with backoff).
 * Triggers NOTIFY at commit (migrations 0009, 0010), so what a feature learns here is
 * committed. Notifications sent while the connection was down are lost: features are told
 * (`onLost`) and must then stop trusting what they learnt this way.
 */
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
const CHANNEL = /^[a-z_][a-z0-9_]*$/;

export class PgNotifications {
  private readonly handlers = new Map<string, ((payload: string) => void)[]>();
  private readonly lostHandlers: (() => void)[] = [];
  private client: pg.Client | undefined;
  private isListening = false;
  private stopped = false;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Calls `handler` with each notification's payload on `channel`; before start(). */
  on(channel: string, handler: (payload: string) => void): void {
    if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
    this.handlers.set(channel, [...(this.handlers.get(channel) ?? []), handler]);
  }

  /** Calls `handler` when the connection is lost: notifications may be missed from then on. */
  onLost(handler: () => void): void {
    this.lostHandlers.push(handler);
  }

  /** Whether every notification since listening began has arrived (so far). */
  get listening(): boolean {
    return this.isListening;
  }

  /** Starts listening; resolves once the first attempt has connected or failed (it retries). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.lose();
    await client?.end().catch(() => undefined);
  }

  private lose(): void {
    const wasListening = this.isListening;
    this.isListening = false;
    if (wasListening) for (const handler of this.lostHandlers) handler();
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.handlers.size === 0) return;
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true });
    this.client = client;
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel) ?? [])
        handler(message.payload ?? '');
    });
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.lose();
      if (error) this.log.warn({ err: error }, 'database notifications lost; reconnecting');
      void client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query([...this.handlers.keys()].map((channel) => `LISTEN ${channel}`).join(';'));
      this.attempts = 0;
      if (this.client === client) this.isListening = true;
    } catch (error) {
      lost(error as Error);
    }
  }

  private retry(): void {
    if (this.stopped) return;
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempts++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
