import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';

/** Application rights as TTN v2's account server named them. */
export const APP_RIGHTS = [
  'settings',
  'delete',
  'collaborators',
  'devices',
  'messages:up:r',
  'messages:up:w',
  'messages:down:w',
] as const;
export type AppRight = (typeof APP_RIGHTS)[number];

export interface User {
  username: string;
  password: string;
  email: string;
  name: { first: string; last: string };
  created: string;
}

export interface OAuthClient {
  id: string;
  secret: string;
  name: string;
  description: string;
  redirectUris: string[];
  grants: string[];
  scope: string[];
  accepted: boolean;
  rejected: boolean;
  official: boolean;
  owner?: string;
}

export interface AccessKey {
  name: string;
  key: string;
  rights: AppRight[];
}

export interface Application {
  id: string;
  name: string;
  euis: string[];
  created: string;
  /** username → rights */
  collaborators: Map<string, AppRight[]>;
  accessKeys: Map<string, AccessKey>;
}

export interface AuthorizationCode {
  code: string;
  clientId: string;
  username: string;
  redirectUri: string;
  redirectUriGiven: boolean;
  scope: string[];
  expiresAt: number;
  used: boolean;
}

export interface RefreshToken {
  token: string;
  clientId: string;
  username: string;
  scope: string[];
}

/** Claims of an access token as TTN v2's account server issued them. */
export interface TokenClaims {
  iss: string;
  sub: string;
  type: string;
  client?: string;
  scope: string[];
  apps?: Record<string, AppRight[]>;
  gateways?: Record<string, string[]>;
  components?: Record<string, string[]>;
  interchangeable: boolean;
  username?: string;
  email?: string;
  name?: { first: string; last: string };
  created?: string;
  valid: boolean;
  _id: string;
  /** added by the simulator so two tokens issued in the same second differ */
  jti: string;
  iat: number;
  exp: number;
}

/** What the simulator remembers about an access token it issued. */
export interface IssuedToken {
  claims: TokenClaims;
  /** the user it belongs to, if any (app tokens have none) */
  username?: string;
  expiredByControl: boolean;
  revoked: boolean;
}

export interface PayloadSettings {
  payload_format: string;
  decoder: string;
  converter: string;
  validator: string;
  encoder: string;
}

export interface LorawanDevice {
  app_id: string;
  dev_id: string;
  app_eui: string;
  dev_eui: string;
  app_key: string;
  dev_addr: string;
  nwk_s_key: string;
  app_s_key: string;
  activation_constraints: string;
  uses32_bit_f_cnt: boolean;
  disable_f_cnt_check: boolean;
  f_cnt_up: number;
  f_cnt_down: number;
  last_seen: string;
}

export interface Device {
  app_id: string;
  dev_id: string;
  description: string;
  latitude: number;
  longitude: number;
  altitude: number;
  attributes: Record<string, string>;
  lorawan_device: LorawanDevice;
}

export interface HandlerApplication {
  appId: string;
  settings: PayloadSettings;
  devices: Map<string, Device>;
  /** devices in dev_id order, rebuilt lazily after a change (for fast paging) */
  sorted: Device[] | null;
}

export interface Downlink {
  appId: string;
  devId: string;
  topic: string;
  payload: unknown;
  time: string;
}

/** A downlink the handler refused: never scheduled. */
export interface RejectedDownlink extends Downlink {
  reason: string;
}

export interface Settings {
  accessTokenLifetimeSeconds: number;
  codeLifetimeSeconds: number;
  /** per client and per application on the handler; 0 = off (TTN's code used 5) */
  handlerRateLimitPerSecond: number;
}

export const DEFAULT_SETTINGS: Settings = {
  accessTokenLifetimeSeconds: 3600,
  codeLifetimeSeconds: 300,
  handlerRateLimitPerSecond: 0,
};

export type DeviceEvent = { kind: 'create' | 'update' | 'delete'; device: Device };

/** The simulator's whole state, in memory. */
export class SimState {
  users = new Map<string, User>();
  clients = new Map<string, OAuthClient>();
  /** `${username}\n${clientId}` of authorizations the user has consented to */
  consents = new Set<string>();
  /** browser sessions on the account server: session id → username */
  sessions = new Map<string, string>();
  codes = new Map<string, AuthorizationCode>();
  refreshTokens = new Map<string, RefreshToken>();
  accessTokens = new Map<string, IssuedToken>();
  applications = new Map<string, Application>();
  /** access key → application id */
  keyIndex = new Map<string, string>();
  handlerApps = new Map<string, HandlerApplication>();
  /** `${app_eui}:${dev_eui}` → `${app_id}/${dev_id}` over the whole handler */
  euiIndex = new Map<string, string>();
  downlinks: Downlink[] = [];
  rejectedDownlinks: RejectedDownlink[] = [];
  settings: Settings = { ...DEFAULT_SETTINGS };
  readonly events = new EventEmitter();

  private issuedSinceSweep = 0;

  /** Remembers an access token; now and then forgets tokens and codes long expired. */
  rememberToken(token: string, issued: IssuedToken): void {
    this.accessTokens.set(token, issued);
    if (++this.issuedSinceSweep < 1000) return;
    this.issuedSinceSweep = 0;
    // Expired tokens are kept an hour so that they answer "expired", not "invalid".
    const cutoff = Date.now() / 1000 - 3600;
    for (const [key, value] of this.accessTokens) {
      if (value.claims.exp < cutoff) this.accessTokens.delete(key);
    }
    for (const [key, code] of this.codes) {
      if (code.expiresAt < Date.now()) this.codes.delete(key);
    }
  }

  reset(): void {
    this.users.clear();
    this.clients.clear();
    this.consents.clear();
    this.sessions.clear();
    this.codes.clear();
    this.refreshTokens.clear();
    this.accessTokens.clear();
    this.applications.clear();
    this.keyIndex.clear();
    this.handlerApps.clear();
    this.euiIndex.clear();
    this.downlinks = [];
    this.rejectedDownlinks = [];
    this.settings = { ...DEFAULT_SETTINGS };
  }

  /** Rights a user holds on an application (empty when none). */
  userRights(username: string, appId: string): AppRight[] {
    return this.applications.get(appId)?.collaborators.get(username) ?? [];
  }

  addAccessKey(app: Application, name: string, rights: AppRight[]): AccessKey {
    const key: AccessKey = { name, rights, key: `ttn-account-v2.${randomToken(32)}` };
    app.accessKeys.set(name, key);
    this.keyIndex.set(key.key, app.id);
    return key;
  }

  deleteAccessKey(app: Application, name: string): boolean {
    const key = app.accessKeys.get(name);
    if (!key) return false;
    app.accessKeys.delete(name);
    this.keyIndex.delete(key.key);
    return true;
  }

  /** The access key and its application, if the key exists. */
  findAccessKey(key: string): { app: Application; key: AccessKey } | undefined {
    const appId = this.keyIndex.get(key);
    const app = appId === undefined ? undefined : this.applications.get(appId);
    if (!app) return undefined;
    for (const k of app.accessKeys.values()) if (k.key === key) return { app, key: k };
    return undefined;
  }

  createApplication(owner: string, id: string, name: string, euis: string[]): Application {
    const app: Application = {
      id,
      name,
      euis: euis.length > 0 ? euis : [randomEui()],
      created: new Date().toISOString(),
      collaborators: new Map([[owner, [...APP_RIGHTS]]]),
      accessKeys: new Map(),
    };
    this.applications.set(id, app);
    this.addAccessKey(app, 'default key', ['messages:up:r', 'messages:down:w']);
    return app;
  }

  deleteApplication(id: string): void {
    const app = this.applications.get(id);
    if (!app) return;
    for (const k of app.accessKeys.values()) this.keyIndex.delete(k.key);
    this.applications.delete(id);
  }

  /** Puts a device on the handler (create or replace), keeping the EUI index. */
  putDevice(happ: HandlerApplication, device: Device): 'create' | 'update' {
    const old = happ.devices.get(device.dev_id);
    if (old) this.euiIndex.delete(euiKey(old));
    happ.devices.set(device.dev_id, device);
    this.euiIndex.set(euiKey(device), `${device.app_id}/${device.dev_id}`);
    happ.sorted = null;
    return old ? 'update' : 'create';
  }

  deleteDevice(happ: HandlerApplication, devId: string): Device | undefined {
    const old = happ.devices.get(devId);
    if (!old) return undefined;
    happ.devices.delete(devId);
    this.euiIndex.delete(euiKey(old));
    happ.sorted = null;
    return old;
  }

  unregisterHandlerApp(appId: string): void {
    const happ = this.handlerApps.get(appId);
    if (!happ) return;
    for (const d of happ.devices.values()) this.euiIndex.delete(euiKey(d));
    this.handlerApps.delete(appId);
  }

  sortedDevices(happ: HandlerApplication): Device[] {
    if (!happ.sorted) {
      happ.sorted = [...happ.devices.values()].sort((a, b) =>
        a.dev_id < b.dev_id ? -1 : a.dev_id > b.dev_id ? 1 : 0,
      );
    }
    return happ.sorted;
  }
}

export function euiKey(device: Device): string {
  return `${device.lorawan_device.app_eui}:${device.lorawan_device.dev_eui}`;
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}

/** An EUI in TTN's experimental range 70B3D57ED… like the ones TTN allocated. */
export function randomEui(): string {
  return `70B3D57ED${randomHex(4).slice(0, 7)}`;
}

export function emptyPayloadSettings(): PayloadSettings {
  return { payload_format: 'custom', decoder: '', converter: '', validator: '', encoder: '' };
}
