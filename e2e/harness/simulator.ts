import { startSimulator, type SimulatorOptions } from '@lpwan/ttn-sim';

export interface SimUser {
  username: string;
  password: string;
  email: string;
}

export interface SimClient {
  id: string;
  secret: string;
  name: string;
  redirectUris: string[];
  grants: string[];
  scope: string[];
}

export interface SimApplication {
  owner: string;
  id: string;
  name: string;
  devices?: unknown[];
}

/** One request the simulator saw (GET /_sim/requests); fields beyond these vary. */
export interface SimRequest {
  time: string;
  server: 'account' | 'handler';
  method: string;
  /** without the query string */
  path: string;
  status?: number;
  grantType?: string;
  clientId?: string;
  fault?: string;
}

export interface SimulatorHandle {
  accountUrl: string;
  handlerUrl: string;
  mqttUrl: string;
  /** The simulator's control API (`/_sim` on the account server). */
  createUser(user: SimUser): Promise<void>;
  createClient(client: SimClient): Promise<void>;
  createApplication(app: SimApplication): Promise<void>;
  expireTokens(username: string): Promise<void>;
  revokeTokens(username: string): Promise<void>;
  /** Injects a fault (status, latency, dropped connection) on matching simulator routes. */
  addFault(fault: {
    server?: 'account' | 'handler';
    method?: string;
    path: string;
    status?: number;
    latencyMs?: number;
    share?: number;
    drop?: boolean;
  }): Promise<unknown>;
  clearFaults(): Promise<void>;
  /** Changes the simulator's settings at run time (POST /_sim/settings). */
  setSettings(settings: NonNullable<SimulatorOptions['settings']>): Promise<void>;
  /** The requests the simulator saw, oldest first (never with secrets). */
  requests(filter?: { server?: 'account' | 'handler'; path?: string }): Promise<SimRequest[]>;
  reset(): Promise<void>;
  /** A raw control call, for what the helpers above do not cover. */
  control(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts the TTN simulator in this process on free loopback ports. `settings` are the
 * simulator's own (token and code lifetimes, handler rate limit).
 */
export async function startTtnSimulator(
  settings: SimulatorOptions['settings'] = {},
): Promise<SimulatorHandle> {
  const sim = await startSimulator({ host: '127.0.0.1', settings });
  const accountUrl = sim.accountUrl.replace(/\/+$/, '');

  async function control(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    const res = await fetch(`${accountUrl}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`simulator ${method} /_sim${path} → ${res.status}: ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  return {
    accountUrl,
    handlerUrl: sim.handlerUrl,
    mqttUrl: sim.mqttUrl,
    createUser: async (user) => void (await control('POST', '/users', user)),
    createClient: async (client) => void (await control('POST', '/clients', client)),
    createApplication: async (app) =>
      void (await control('POST', '/applications', { devices: [], ...app })),
    expireTokens: async (username) => void (await control('POST', '/tokens/expire', { username })),
    revokeTokens: async (username) => void (await control('POST', '/tokens/revoke', { username })),
    addFault: (fault) => control('POST', '/faults', fault),
    clearFaults: async () => void (await control('DELETE', '/faults')),
    setSettings: async (settings) => void (await control('POST', '/settings', settings)),
    requests: async (filter = {}) => {
      const query = new URLSearchParams(filter as Record<string, string>).toString();
      const answer = (await control('GET', `/requests${query ? `?${query}` : ''}`)) as {
        requests: SimRequest[];
      };
      return answer.requests;
    },
    reset: async () => void (await control('POST', '/reset')),
    control,
    stop: () => sim.close(),
  };
}
