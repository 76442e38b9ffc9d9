import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { ApiError, api, onUnauthorized, unwrap } from './api/client';
import type { User } from './api/types';

interface AuthState {
  /** undefined while the first /api/users/me is in flight; null when signed out. */
  user: User | null | undefined;
  signIn(username: string, password: string): Promise<void>;
  /** Ends the session at the server, then reloads the portal on the sign-in page. */
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);

  useEffect(() => {
    let live = true;
    unwrap(api.GET('/api/users/me')).then(
      (me) => live && setUser(me),
      () => live && setUser(null),
    );
    const stop = onUnauthorized(() => setUser(null));
    return () => {
      live = false;
      stop();
    };
  }, []);

  const signIn = useCallback(async (username: string, password: string) => {
    const session = await unwrap(api.POST('/api/sessions', { body: { username, password } }));
    setUser(session.user);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await unwrap(api.DELETE('/api/sessions'));
    } catch (e) {
      // Already signed out is fine; anything else must not pretend the session ended.
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    }
    // A full page load: nothing of the signed-out user stays in memory, and no page is told to
    // send the next user back to where this one was.
    window.location.assign('/login');
  }, []);

  const value = useMemo(() => ({ user, signIn, signOut }), [user, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth needs <AuthProvider>');
  return auth;
}
