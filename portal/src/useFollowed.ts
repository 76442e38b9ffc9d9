import { useEffect, useState, type DependencyList } from 'react';
import { useAsync } from './useAsync';

/** While something is still on its way, read again this often. */
const FOLLOW_MS = 1500;
/** After a failed read, read again this often (less often) until one succeeds. */
const RETRY_MS = 5000;

export interface Followed<T> {
  /** The data last read; a failed read keeps it (undefined until a first read succeeds). */
  shown: T | undefined;
  /** The latest read failed (it is tried again). */
  failed: boolean;
  error: unknown;
  reload(): void;
}

/**
 * Reads what the server settles in the background (pushes to the linked networks) and follows
 * it: reads again every 1.5 s while `unsettled(data)` says something is still on its way, and
 * after a failed read every 5 s until one succeeds. `deps` as with useAsync.
 */
export function useFollowed<T>(
  load: () => Promise<T>,
  deps: DependencyList,
  unsettled: (data: T) => boolean,
): Followed<T> {
  const read = useAsync(load, deps);
  const [shown, setShown] = useState(read.data);
  if (read.data !== undefined && read.data !== shown) setShown(read.data);
  const failed = read.status === 'failed';
  const following = shown !== undefined && unsettled(shown);

  useEffect(() => {
    if (!following && !failed) return;
    const timer = setTimeout(read.reload, failed ? RETRY_MS : FOLLOW_MS);
    return () => clearTimeout(timer);
  }, [read.data, read.error, following, failed, read.reload]);

  return { shown, failed, error: read.error, reload: read.reload };
}
