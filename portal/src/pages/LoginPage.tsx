import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/client';
import { useAuth } from '../auth';
import { messageFor } from '../errors';

/** Only same-site paths may be returned to after sign-in (no `//host` or absolute URLs). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')
    ? next
    : '/networks';
}

function signInMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'invalid_credentials' || e.status === 401)
      return 'The username or password is not correct.';
    if (e.status === 429) return 'Too many sign-in attempts. Wait a minute, then try again.';
    if (e.status === 400) return 'Enter your username and password.';
  }
  return messageFor(e);
}

export function LoginPage() {
  const { user, signIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (user) return <Navigate to={next} replace />;

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await signIn(username.trim(), password);
      navigate(next, { replace: true });
    } catch (e) {
      setError(signInMessage(e));
      setBusy(false);
    }
  }

  return (
    <section className="narrow card">
      <h1>Sign in</h1>
      <p className="muted">Sign in to manage your LoRaWAN networks.</p>
      <form onSubmit={handleSubmit} noValidate>
        {error && (
          <p role="alert" className="alert error">
            {error}
          </p>
        )}
        <div className="field">
          <label htmlFor="username">Username</label>
          <input
            id="username"
            name="username"
            autoComplete="username"
            required
            autoFocus
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <div className="actions">
          <button type="submit" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </section>
  );
}
