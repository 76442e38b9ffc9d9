/**
 * The live view: new uplinks of one application as Server-Sent Events.
 *
 * It reads from the database, not from memory, because the uplinks of an application may be
 * received by another server process. A store in this process wakes the feed at once; otherwise
 * it looks every second. The query reaches a few seconds back, so that an uplink committed late
 * by another process is not missed; ids already sent are remembered that long.
 */
import type { EventEmitter } from 'node:events';
import type { Db } from '../db/database.js';
import { uplinksAfter } from './uplinks.repository.js';

const POLL_MS = 1_000;
const LOOK_BACK_MS = 5_000;
const HEARTBEAT_MS = 15_000;
/**
 * How often a stream asks whether its client may still see the application: a stream outlives
 * its request, and signing out, a deleted user or a deleted application must end it.
 */
export const ACCESS_CHECK_MS = 5_000;
const PAGE = 500;

export const STORED_EVENT = 'stored';

export interface LiveSink {
  write(chunk: string): void;
  end(): void;
  onClose(listener: () => void): void;
}

export async function streamUplinks(
  deps: {
    db: Db;
    bus: EventEmitter;
    /** False once the client may no longer see the application; a failed check keeps the stream. */
    stillAllowed: () => Promise<boolean>;
  },
  applicationId: string,
  sink: LiveSink,
): Promise<void> {
  let cursor = new Date().toISOString();
  const sent = new Map<string, string>();
  let closed = false;
  let running = false;
  let again = false;

  const tick = async (send: boolean) => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        let after = {
          ingestedAt: new Date(Date.parse(cursor) - LOOK_BACK_MS).toISOString(),
          id: '',
        };
        for (;;) {
          const rows = await uplinksAfter(deps.db, applicationId, after, PAGE);
          for (const row of rows) {
            if (sent.has(row.id)) continue;
            sent.set(row.id, row.ingested_at);
            if (row.ingested_at > cursor) cursor = row.ingested_at;
            if (send && !closed)
              sink.write(`id: ${row.id}\nevent: uplink\ndata: ${row.document}\n\n`);
          }
          if (rows.length < PAGE || closed) break;
          after = { ingestedAt: rows.at(-1)!.ingested_at, id: rows.at(-1)!.id };
        }
        const forgetBefore = new Date(Date.parse(cursor) - 2 * LOOK_BACK_MS).toISOString();
        for (const [id, at] of sent) if (at < forgetBefore) sent.delete(id);
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  // Listened for first: a client may leave while the first page is read.
  const timers: NodeJS.Timeout[] = [];
  const onStored = (applicationIds: Set<string>) => {
    if (applicationIds.has(applicationId)) void tick(true).catch(() => undefined);
  };
  sink.onClose(() => {
    closed = true;
    deps.bus.off(STORED_EVENT, onStored);
    for (const timer of timers) clearInterval(timer);
  });
  // What was stored just before the client connected is in its first page already.
  await tick(false);
  if (closed) return;
  sink.write(': live\n\n');
  deps.bus.on(STORED_EVENT, onStored);
  timers.push(
    setInterval(() => void tick(true).catch(() => undefined), POLL_MS),
    setInterval(() => sink.write(': ping\n\n'), HEARTBEAT_MS),
    setInterval(
      () =>
        void deps.stillAllowed().then(
          (allowed) => {
            if (!allowed && !closed) sink.end();
          },
          () => undefined,
        ),
      ACCESS_CHECK_MS,
    ),
  );
}
