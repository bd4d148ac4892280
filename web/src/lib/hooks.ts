import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
  /** Replaces the loaded value after a change the server has confirmed, without a refetch. */
  setData: (update: (current: T | null) => T | null) => void;
}

/** Loads once on mount (and when `key` changes); ignores answers that arrive after unmount. */
export function useResource<T>(load: () => Promise<T>, key: unknown = null): Resource<T> {
  const [data, setDataState] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setDataState(value);
      setError(null);
    } catch (err) {
      if (mine !== generation.current) return;
      setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    return () => {
      generation.current++;
    };
  }, [key, reload]);

  const setData = useCallback((update: (current: T | null) => T | null) => setDataState(update), []);
  return { data, error, loading, reload, setData };
}

/** Sets the document title, which screen readers announce and browser history shows. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Postroom` : "Postroom";
  }, [title]);
}
