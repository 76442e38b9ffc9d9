/**
 * Helpers for the applications, sync and pull tests: a TTN network linked through the real
 * sign-in flow, polling, and reading what the simulator's handler holds.
 */
import type { SignedIn, TestApp } from './harness/app.js';
import { passwordGrant } from './harness/password-grant.js';
import { createTtnNetwork, signInAtTtn, TTN_USER, type Ttn } from './harness/ttn.js';

/** An application link as `GET /api/applications/{id}/links` answers it. */
export interface LinkView {
  id: string;
  remoteId: string;
  state: string;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  uplinkKey: { set: boolean };
  devices: { synced: number; pending: number; error: number };
}

/** A pull job as `GET /api/jobs/{id}` answers it. */
export interface JobView {
  id: string;
  state: string;
  progress: { done: number; total: number };
  counts: {
    applications: { created: number; matched: number };
    devices: { created: number; matched: number; failed: number };
  };
  errorCount: number;
  errors: { item: string; message: string }[];
  message: string | null;
}

/** Calls the API with `token` for set-up: any 4xx or 5xx throws with its answer; a 204 is undefined. */
export async function callApi(
  t: TestApp,
  token: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<Record<string, unknown> | undefined> {
  const res = await t.request(method, url, { token, ...(body !== undefined ? { body } : {}) });
  if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.statusCode === 204 ? undefined : (res.json() as Record<string, unknown>);
}

export async function linksOf(t: TestApp, token: string, appId: string): Promise<LinkView[]> {
  const answer = await callApi(t, token, 'GET', `/api/applications/${appId}/links`);
  return (answer as unknown as { items: LinkView[] }).items;
}

/** Waits until the application's (first) link is synced with `devices` devices synced there. */
export function whenSynced(
  t: TestApp,
  token: string,
  appId: string,
  devices: number,
): Promise<LinkView> {
  return eventually(async () => {
    const [link] = await linksOf(t, token, appId);
    return link?.state === 'synced' && link.devices.synced === devices ? link : undefined;
  });
}

/**
 * An application with `count` OTAA devices: DevEUIs `euiPrefix` followed by 00, 01, …, AppKeys
 * taken from `appKeys` in turn.
 */
export async function appWithDevices(
  t: TestApp,
  token: string,
  name: string,
  count: number,
  euiPrefix: string,
  appKeys: readonly string[],
): Promise<{ id: string; devices: { id: string; devEui: string }[] }> {
  const app = (await callApi(t, token, 'POST', '/api/applications', { name })) as { id: string };
  const devices: { id: string; devEui: string }[] = [];
  for (let i = 0; i < count; i++) {
    devices.push(
      (await callApi(t, token, 'POST', `/api/applications/${app.id}/devices`, {
        name: `${name} device ${i}`,
        devEui: `${euiPrefix}${String(i).padStart(2, '0')}`,
        joinEui: '70B3D57ED0000000',
        appKey: appKeys[i % appKeys.length],
      })) as { id: string; devEui: string },
    );
  }
  return { id: app.id, devices };
}

/** Creates a ttn-v2 network pointing at the simulator and links alice's account to it. */
export async function linkedTtnNetwork(t: TestApp, admin: SignedIn, ttn: Ttn): Promise<string> {
  const id = await createTtnNetwork(t, admin, ttn);
  const start = await t.request('POST', `/api/networks/${id}/authorization`, {
    token: admin.token,
  });
  if (start.statusCode !== 200) throw new Error(`authorization start: ${start.body}`);
  const query = await signInAtTtn((start.json() as { authorizeUrl: string }).authorizeUrl);
  const done = await t.request('POST', '/api/oauth/callback', {
    token: admin.token,
    body: Object.fromEntries(query.entries()),
  });
  if (done.statusCode !== 200) throw new Error(`callback: ${done.body}`);
  return id;
}

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs = 20_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface SimDevice {
  dev_id: string;
  description: string;
  lorawan_device: {
    app_eui: string;
    dev_eui: string;
    app_key: string;
    dev_addr: string;
    nwk_s_key: string;
    app_s_key: string;
    activation_constraints: string;
  };
}

/**
 * Looks at the simulator as alice would with her own TTN tools: a password-grant client of
 * her own, the account API with her token, the handler with app-scoped tokens.
 */
export async function aliceAtTtn(ttn: Ttn) {
  const client = {
    id: `inspector-${Math.random().toString(36).slice(2, 8)}`,
    secret: 'inspector-secret',
  };
  await ttn.control('/clients', {
    ...client,
    name: 'Test inspector',
    redirectUris: ['http://127.0.0.1/unused'],
    grants: ['password', 'refresh_token'],
    scope: ['profile', 'apps'],
  });
  const { access_token: token } = await passwordGrant(ttn.sim.accountUrl, client, TTN_USER);
  const account = async (path: string) => {
    const res = await fetch(`${ttn.sim.accountUrl}/api/v2${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return {
      status: res.status,
      body: res.status === 204 ? undefined : ((await res.json()) as unknown),
    };
  };
  const handler = async (appId: string, path: string, method = 'GET', body?: unknown) => {
    const restricted = await fetch(`${ttn.sim.accountUrl}/users/restrict-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ scope: [`apps:${appId}`] }),
    });
    if (!restricted.ok) return { status: restricted.status, body: undefined };
    const { access_token: appToken } = (await restricted.json()) as { access_token: string };
    const res = await fetch(`${ttn.sim.handlerUrl}/applications/${appId}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${appToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  return {
    account,
    handler,
    /** The application's devices on the handler, or undefined when it is not there. */
    async devices(appId: string): Promise<SimDevice[] | undefined> {
      const res = await handler(appId, '/devices');
      return res.status === 200 ? (res.body as { devices: SimDevice[] }).devices : undefined;
    },
  };
}
