/**
 * The TTN simulator as the outside world of the server tests: a TTN user, an approved OAuth
 * client whose callback is the server's, and a browser-like walk through TTN's sign-in pages.
 */
import { startSimulator, type RunningSimulator } from '@lpwan/ttn-sim';
import type { SignedIn, TestApp } from './app.js';

export const TTN_USER = {
  username: 'alice',
  password: 'alice-ttn-password',
  email: 'alice@example.com',
};
export const TTN_CLIENT = { id: 'lpwan-test', secret: 'lpwan-test-client-secret' };

export interface Ttn {
  sim: RunningSimulator;
  control(path: string, body?: unknown, method?: string): Promise<Record<string, unknown>>;
  /** Requests the simulator received (never secrets): method, path, grant type. */
  requests(): Promise<{ method: string; path: string; grantType?: string; status?: number }[]>;
  /** How many token requests with this grant type reached the simulator. */
  grants(grantType: string): Promise<number>;
  close(): Promise<void>;
}

export async function startTtn(callbackUrl: string): Promise<Ttn> {
  const sim = await startSimulator({ host: '127.0.0.1' });
  const control = async (path: string, body?: unknown, method = 'POST') => {
    const res = await fetch(`${sim.accountUrl}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  };
  await control('/users', TTN_USER);
  await control('/clients', {
    id: TTN_CLIENT.id,
    secret: TTN_CLIENT.secret,
    name: 'LPWAN Server tests',
    redirectUris: [callbackUrl],
    grants: ['authorization_code', 'refresh_token'],
    scope: ['profile', 'apps', 'components', 'gateways'],
  });
  const requests = async () =>
    (await control('/requests', undefined, 'GET')).requests as Awaited<ReturnType<Ttn['requests']>>;
  return {
    sim,
    control,
    requests,
    grants: async (grantType) =>
      (await requests()).filter((r) => r.path === '/users/token' && r.grantType === grantType)
        .length,
    close: () => sim.close(),
  };
}

/** Settings of a ttn-v2 network pointing at the simulator. */
export function ttnSettings(
  ttn: Ttn,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    clientId: TTN_CLIENT.id,
    clientSecret: TTN_CLIENT.secret,
    accountServerUrl: ttn.sim.accountUrl,
    handlerUrl: ttn.sim.handlerUrl,
    mqttUrl: ttn.sim.mqttUrl,
    ...overrides,
  };
}

export async function createTtnNetwork(
  t: TestApp,
  who: SignedIn,
  ttn: Ttn,
  overrides: Record<string, string> = {},
  name = `TTN ${Math.random().toString(36).slice(2, 8)}`,
): Promise<string> {
  const res = await t.request('POST', '/api/networks', {
    token: who.token,
    body: { name, protocolId: 'ttn-v2', settings: ttnSettings(ttn, overrides) },
  });
  if (res.statusCode !== 201)
    throw new Error(`create network failed: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: string }).id;
}

/**
 * What a browser does at TTN: open the authorize URL, log in, allow or deny on the consent page
 * (shown the first time only), and follow TTN's redirect — whose query is returned.
 */
export async function signInAtTtn(
  authorizeUrl: string,
  decision: 'allow' | 'deny' = 'allow',
  user: { username: string; password: string } = TTN_USER,
): Promise<URLSearchParams> {
  const authorize = new URL(authorizeUrl);
  const first = await fetch(authorize, { redirect: 'manual' });
  const loginPage = await first.text();
  if (first.status !== 200) throw new Error(`authorize answered ${first.status}: ${loginPage}`);
  const hidden = hiddenFields(loginPage);
  const login = await fetch(new URL('/users/login', authorize), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, ...user }).toString(),
  });
  if (login.status !== 303) throw new Error(`login answered ${login.status}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const next = await fetch(new URL(login.headers.get('location') ?? '', authorize), {
    redirect: 'manual',
    headers: { cookie },
  });
  if (next.status === 302) return new URL(next.headers.get('location') ?? '').searchParams;
  const consentPage = await next.text();
  const consent = await fetch(new URL('/users/authorize', authorize), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ ...hiddenFields(consentPage), decision }).toString(),
  });
  if (consent.status !== 302) throw new Error(`consent answered ${consent.status}`);
  return new URL(consent.headers.get('location') ?? '').searchParams;
}

function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[decode(match[1]!)] = decode(match[2]!);
  }
  return fields;
}

function decode(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
