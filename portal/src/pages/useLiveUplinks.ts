import { useCallback, useEffect, useRef, useState } from 'react';
import { messageFor } from '../errors';
import type { UplinkDocument, UplinkEntry } from './UplinkTypes';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

/**
 * Follows an application's new uplinks over Server-Sent Events
 * (`GET /api/applications/{id}/uplinks/live`, with the session cookie). The browser reconnects
 * by itself after a dropped connection; `onReconnected` is then called, since the stream does
 * not replay what was missed meanwhile. A refused stream (signed out, application gone) is
 * `closed`; `reconnect()` opens it again.
 */
export function useUplinkStream(
  applicationId: string,
  onUplink: (id: string, document: UplinkDocument) => void,
  onReconnected?: () => void,
): { state: StreamState; reconnect(): void } {
  const [state, setState] = useState<StreamState>('connecting');
  const [attempt, setAttempt] = useState(0);
  // The latest callbacks, without reopening the stream when they change.
  const handlers = useRef({ onUplink, onReconnected });
  useEffect(() => {
    handlers.current = { onUplink, onReconnected };
  });

  useEffect(() => {
    if (typeof EventSource === 'undefined') {
      setState('closed');
      return;
    }
    setState('connecting');
    const source = new EventSource(
      `/api/applications/${encodeURIComponent(applicationId)}/uplinks/live`,
      { withCredentials: true },
    );
    let dropped = false;
    source.onopen = () => {
      setState('live');
      if (dropped) handlers.current.onReconnected?.();
      dropped = false;
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        setState('closed');
      } else {
        dropped = true;
        setState('reconnecting');
      }
    };
    source.addEventListener('uplink', (event) => {
      const message = event as MessageEvent<string>;
      try {
        const document = JSON.parse(message.data) as UplinkDocument;
        handlers.current.onUplink(message.lastEventId || document.id, document);
      } catch {
        // Not a document: nothing to show.
      }
    });
    return () => source.close();
  }, [applicationId, attempt]);

  const reconnect = useCallback(() => setAttempt((a) => a + 1), []);
  return { state, reconnect };
}

/** An uplink shown in a table: as listed by the API, or just arrived on the live stream. */
export type UplinkRow = UplinkEntry & { arrived?: true };

/** Merges uplinks that arrived live into the newest-first list, at most `max` of them. */
export function mergeArrived(rows: UplinkRow[], arrived: UplinkRow[], max: number): UplinkRow[] {
  const known = new Set(rows.map((r) => r.id));
  const fresh = arrived.filter((r) => !known.has(r.id));
  return [...fresh, ...rows]
    .sort((a, b) => (a.document.receivedAt < b.document.receivedAt ? 1 : -1))
    .slice(0, max);
}

function arrivedRow(id: string, document: UplinkDocument): UplinkRow {
  return { id, ingestedAt: new Date().toISOString(), document, delivery: null, arrived: true };
}

/** How long after the first of a burst of arrivals the list is read again (for their delivery). */
const REFRESH_AFTER_ARRIVAL_MS = 1500;

/**
 * A list of recent uplinks read from the API and kept up to date by the application's live
 * stream: arrivals appear at the top at once, and the list is read again shortly after (to show
 * their delivery), after a reconnection (the stream does not replay), and on `refreshSoon()`.
 * Loads never overlap: one asked for meanwhile runs after the current one.
 */
export function useLiveUplinks<Page extends { items: UplinkEntry[]; total: number }>(options: {
  applicationId: string;
  /** Changes when another list is shown (e.g. another device): the list is read anew. */
  listKey: string;
  shown: number;
  fetchPage: () => Promise<Page>;
  /** The arrivals on the application's stream that belong to this list; all by default. */
  accepts?: (document: UplinkDocument) => boolean;
  onPage?: (page: Page) => void;
  onArrival?: (document: UplinkDocument) => void;
  /** What the list is, in the message shown when it cannot be read. */
  what: string;
}) {
  const { applicationId, listKey, shown, what } = options;
  const [rows, setRows] = useState<UplinkRow[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  // The latest callbacks, without reloading when they change.
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });
  const loading = useRef(false);
  const loadAgain = useRef(false);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = useCallback(async (): Promise<void> => {
    if (loading.current) {
      loadAgain.current = true;
      return;
    }
    loading.current = true;
    try {
      const page = await latest.current.fetchPage();
      // Uplinks that arrived while the page was loading stay until the list has them.
      setRows((current) =>
        mergeArrived(
          page.items,
          (current ?? []).filter((r) => r.arrived),
          shown,
        ),
      );
      setTotal(page.total);
      latest.current.onPage?.(page);
      setError(null);
    } catch (e) {
      setError(`The ${what} could not be loaded: ${messageFor(e)}`);
    } finally {
      loading.current = false;
    }
    if (loadAgain.current) {
      loadAgain.current = false;
      await load();
    }
    // A new listKey makes a new load, and so a new reading of the list.
  }, [listKey, shown, what]);

  useEffect(() => {
    setRows(null);
    void load();
  }, [load]);

  const refreshSoon = useCallback(() => {
    if (refreshTimer.current) return;
    refreshTimer.current = setTimeout(() => {
      refreshTimer.current = null;
      void load();
    }, REFRESH_AFTER_ARRIVAL_MS);
  }, [load]);
  useEffect(
    () => () => {
      if (refreshTimer.current) clearTimeout(refreshTimer.current);
      refreshTimer.current = null;
    },
    [load],
  );

  const stream = useUplinkStream(
    applicationId,
    (id, document) => {
      if (latest.current.accepts && !latest.current.accepts(document)) return;
      setRows((current) => mergeArrived(current ?? [], [arrivedRow(id, document)], shown));
      setTotal((t) => t + 1);
      latest.current.onArrival?.(document);
      refreshSoon();
    },
    () => void load(),
  );

  return { rows, total, error, stream, load, refreshSoon };
}
