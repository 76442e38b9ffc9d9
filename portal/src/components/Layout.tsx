import { useState } from 'react';
import { Link, NavLink, Navigate, Outlet, useLocation } from 'react-router';
import { useAuth } from '../auth';
import { messageFor } from '../errors';

export function Layout() {
  const { user, signOut } = useAuth();
  const [error, setError] = useState<string | null>(null);

  async function handleSignOut() {
    setError(null);
    try {
      await signOut();
    } catch (e) {
      setError(`Signing out failed: ${messageFor(e)}`);
    }
  }

  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          LPWAN Server
        </Link>
        {user && (
          <nav aria-label="Main">
            <NavLink to="/networks">Networks</NavLink>
            <NavLink to="/applications">Applications</NavLink>
          </nav>
        )}
        {user && (
          <div className="account">
            <span className="who">
              {user.username}
              <span className="muted"> · {user.organizationName}</span>
            </span>
            <button type="button" className="secondary small" onClick={handleSignOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main className="content">
        {error && (
          <p role="alert" className="alert error">
            {error}
          </p>
        )}
        <Outlet />
      </main>
    </div>
  );
}

/** Renders its child routes for a signed-in user; sends anyone else to /login and back after. */
export function RequireAuth() {
  const { user } = useAuth();
  const location = useLocation();
  if (user === undefined) return <p className="muted">Loading…</p>;
  if (user === null) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <Outlet />;
}
