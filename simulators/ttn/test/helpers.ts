import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../src/index.js';

export type Sim = RunningSimulator;

export const startSim = (options: SimulatorOptions = {}) =>
  startSimulator({ host: '127.0.0.1', accountPort: 0, handlerPort: 0, mqttPort: 0, ...options });

export const CALLBACK = 'http://localhost:3000/oauth/callback';

export async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

/** POST/PUT/... JSON to a URL, with an optional Authorization header. */
export async function call(
  method: string,
  url: string,
  body?: unknown,
  authorization?: string,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (authorization) headers.authorization = authorization;
  return fetch(url, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

export async function control(sim: Sim, path: string, body?: unknown, method = 'POST') {
  const response = await call(method, `${sim.accountUrl}/_sim${path}`, body);
  const text = await response.text();
  if (!response.ok) throw new Error(`control ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

export interface Fixture {
  username: string;
  password: string;
  clientId: string;
  clientSecret: string;
}

/** A user and an approved client with the usual grants and scopes. */
export async function createUserAndClient(
  sim: Sim,
  overrides: { grants?: string[]; scope?: string[]; username?: string; clientId?: string } = {},
): Promise<Fixture> {
  const fixture = {
    username: overrides.username ?? 'alice',
    password: 'alice-password',
    clientId: overrides.clientId ?? 'lpwan-test',
    clientSecret: 'lpwan-test-secret',
  };
  await control(sim, '/users', {
    username: fixture.username,
    password: fixture.password,
    email: `${fixture.username}@example.com`,
    name: { first: 'Alice', last: 'Example' },
  });
  await control(sim, '/clients', {
    id: fixture.clientId,
    secret: fixture.clientSecret,
    name: 'LPWAN Server test',
    redirectUris: [CALLBACK],
    grants: overrides.grants ?? ['authorization_code', 'refresh_token'],
    scope: overrides.scope ?? ['profile', 'apps', 'components', 'gateways'],
  });
  return fixture;
}

function cookieOf(response: Response): string {
  const setCookie = response.headers.getSetCookie();
  return setCookie.map((c) => c.split(';')[0]).join('; ');
}

/**
 * Goes through the login and consent forms with fetch (the way a browser would) and
 * returns the final redirect location.
 */
export async function authorizeWithForms(
  sim: Sim,
  params: Record<string, string>,
  user: { username: string; password: string },
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  const query = new URLSearchParams(params).toString();
  const first = await fetch(`${sim.accountUrl}/users/authorize?${query}`, { redirect: 'manual' });
  if (first.status !== 200) throw new Error(`authorize answered ${first.status}`);
  const login = await fetch(`${sim.accountUrl}/users/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...params, ...user }).toString(),
  });
  if (login.status !== 303) throw new Error(`login answered ${login.status}`);
  const cookie = cookieOf(login);
  const next = await fetch(new URL(login.headers.get('location') ?? '', sim.accountUrl), {
    redirect: 'manual',
    headers: { cookie },
  });
  if (next.status === 302) return new URL(next.headers.get('location') ?? '');
  const html = await next.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!csrf) throw new Error('no consent form');
  const consent = await fetch(`${sim.accountUrl}/users/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ ...params, csrf, decision }).toString(),
  });
  if (consent.status !== 302) throw new Error(`consent answered ${consent.status}`);
  return new URL(consent.headers.get('location') ?? '');
}

export async function exchangeCode(sim: Sim, f: Fixture, code: string, redirectUri = CALLBACK) {
  return call(
    'POST',
    `${sim.accountUrl}/users/token`,
    { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
    basic(f.clientId, f.clientSecret),
  );
}

/** A user's access and refresh token through the whole authorization-code flow. */
export async function userTokens(sim: Sim, f: Fixture) {
  const location = await authorizeWithForms(
    sim,
    { client_id: f.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 's1' },
    f,
  );
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location.toString()}`);
  const response = await exchangeCode(sim, f, code);
  if (!response.ok) throw new Error(`token exchange failed: ${response.status}`);
  return (await response.json()) as {
    access_token: string;
    refresh_token: string;
    expires_in: number;
    token_type: string;
  };
}

export const bearer = (token: string) => `Bearer ${token}`;

/** An app-scoped token for one application, through restrict-token. */
export async function appToken(sim: Sim, accessToken: string, appId: string): Promise<string> {
  const response = await call(
    'POST',
    `${sim.accountUrl}/users/restrict-token`,
    { scope: [`apps:${appId}`] },
    bearer(accessToken),
  );
  if (!response.ok) throw new Error(`restrict-token failed: ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
