import { useCallback, useEffect, useRef, useState, type DependencyList } from 'react';

export type AsyncState<T> =
  | { status: 'loading'; data?: undefined; error?: undefined }
  | { status: 'done'; data: T; error?: undefined }
  | { status: 'failed'; data?: undefined; error: unknown };

/**
 * Loads data for a page; answers of a superseded load are dropped. When `deps` change the
 * state goes back to loading; `reload()` loads again but keeps showing the current data until
 * the new answer arrives (`reloading` is true meanwhile).
 */
export function useAsync<T>(
  load: () => Promise<T>,
  deps: DependencyList,
): AsyncState<T> & { reload(): void; reloading: boolean } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  const [reloading, setReloading] = useState(false);
  const lastGeneration = useRef(generation);

  useEffect(() => {
    let live = true;
    const isReload = lastGeneration.current !== generation;
    lastGeneration.current = generation;
    if (isReload) setReloading(true);
    else setState((s) => (s.status === 'loading' ? s : { status: 'loading' }));
    load()
      .then(
        (data) => live && setState({ status: 'done', data }),
        (error: unknown) => live && setState({ status: 'failed', error }),
      )
      .finally(() => live && setReloading(false));
    return () => {
      live = false;
    };
    // The caller lists what `load` depends on, as with useEffect.
  }, [...deps, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload, reloading };
}
