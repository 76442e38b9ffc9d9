import { randomBytes as cryptoBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ID_PATTERN, EUI_PATTERN, newClient, parseRights, stringList } from './account/api.js';
import { SimError, badRequest, conflict, notFound } from './errors.js';
import { parseDevice } from './handler/validate.js';
import {
  emptyPayloadSettings,
  type AccessKey,
  type AppRight,
  type Application,
  type Device,
  type PayloadSettings,
  type SimState,
} from './state.js';

/** The seed file (`--seed`); see docs/simulator.md. */
export interface Seed {
  users?: {
    username: string;
    password: string;
    email: string;
    name?: { first?: string; last?: string };
  }[];
  clients?: {
    id: string;
    secret: string;
    name?: string;
    description?: string;
    redirectUris: string[];
    grants: string[];
    scope: string[];
  }[];
  applications?: ApplicationSeed[];
  settings?: Partial<SimState['settings']>;
}

export interface ApplicationSeed {
  owner: string;
  id: string;
  name?: string;
  euis?: string[];
  /** a number of generated devices, or device objects in the handler's JSON */
  devices?: number | unknown[];
  accessKeys?: { name: string; key?: string; rights: string[] }[];
  collaborators?: { username: string; rights: string[] }[];
  /**
   * The handler's payload settings (`payload_format`, `decoder`, `converter`, `validator`,
   * `encoder`; fields left out are empty, `payload_format` is then `custom`). Without it a
   * seeded application has {@link SIM_DECODER} as its custom decoder.
   */
  payloadSettings?: Partial<PayloadSettings>;
}

/**
 * The decoder a seeded application has unless its seed says otherwise: TTN v2 JavaScript for
 * the simulator's 3-byte payload. Stored and shown by the handler, never run: the simulator
 * fills `payload_fields` itself when an application has a custom decoder.
 */
export const SIM_DECODER = [
  'function Decoder(bytes, port) {',
  '  // temperature: signed 16 bit, 0.01 °C; humidity: %',
  '  var t = (bytes[0] << 8) | bytes[1];',
  '  if (t & 0x8000) t -= 0x10000;',
  '  return { temperature: t / 100, humidity: bytes[2] };',
  '}',
].join('\n');

const PAYLOAD_FIELDS: (keyof PayloadSettings)[] = [
  'payload_format',
  'decoder',
  'converter',
  'validator',
  'encoder',
];

/** A seed's `payloadSettings` (see {@link ApplicationSeed}). */
function parsePayloadSettings(value: unknown): PayloadSettings {
  if (value === undefined) return { ...emptyPayloadSettings(), decoder: SIM_DECODER };
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('payloadSettings must be an object');
  }
  const settings = emptyPayloadSettings();
  for (const [field, v] of Object.entries(value)) {
    if (!PAYLOAD_FIELDS.includes(field as keyof PayloadSettings)) {
      throw badRequest(`unknown payload setting "${field}"`);
    }
    if (typeof v !== 'string') throw badRequest(`payloadSettings.${field} must be a string`);
    settings[field as keyof PayloadSettings] = v;
  }
  if (settings.payload_format === '') settings.payload_format = 'custom';
  return settings;
}

const obj = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

export function addUser(state: SimState, input: unknown) {
  const body = obj(input);
  const { username, password, email } = body;
  if (typeof username !== 'string' || !ID_PATTERN.test(username)) {
    throw badRequest('username must be 2-36 lowercase letters, digits, - or _');
  }
  if (typeof password !== 'string' || password === '') throw badRequest('password is required');
  if (typeof email !== 'string' || !email.includes('@')) throw badRequest('email is required');
  if (state.users.has(username)) throw conflict(`user "${username}" already exists`);
  const name = obj(body.name);
  const user = {
    username,
    password,
    email,
    name: {
      first: typeof name.first === 'string' ? name.first : username,
      last: typeof name.last === 'string' ? name.last : '',
    },
    created: new Date().toISOString(),
  };
  state.users.set(username, user);
  return user;
}

/** An approved client, as the control API and seeds create them. */
export function addClient(state: SimState, input: unknown, accepted = true) {
  const body = obj(input);
  const id = body.id ?? body.name;
  if (typeof id !== 'string' || id === '') throw badRequest('id is required');
  const uris = body.redirectUris ?? (typeof body.uri === 'string' ? [body.uri] : undefined);
  const redirectUris = stringList(uris, 'redirectUris');
  for (const uri of redirectUris) if (!URL.canParse(uri)) throw badRequest(`"${uri}" is not a URL`);
  if (state.clients.has(id)) throw conflict(`client "${id}" already exists`);
  const client = newClient({
    id,
    ...(typeof body.secret === 'string' && body.secret !== '' ? { secret: body.secret } : {}),
    ...(typeof body.name === 'string' ? { name: body.name } : {}),
    ...(typeof body.description === 'string' ? { description: body.description } : {}),
    redirectUris,
    grants: stringList(body.grants ?? ['authorization_code', 'refresh_token'], 'grants'),
    scope: stringList(body.scope ?? ['profile', 'apps', 'components', 'gateways'], 'scope'),
    accepted,
  });
  state.clients.set(id, client);
  return client;
}

/** Generated devices with unique EUIs and random keys, already activated. */
function generateDevices(state: SimState, app: Application, count: number): Device[] {
  const width = Math.max(4, String(count).length);
  const appEui = app.euis[0] ?? '70B3D57ED0000000';
  // one pool of random bytes keeps 10,000 devices fast
  let pool = cryptoBytes(65536);
  let offset = 0;
  const random = (bytes: number) => {
    return () => {
      if (pool.length - offset < bytes) {
        pool = cryptoBytes(65536);
        offset = 0;
      }
      const hex = pool
        .subarray(offset, offset + bytes)
        .toString('hex')
        .toUpperCase();
      offset += bytes;
      return hex;
    };
  };
  const hex4 = random(4);
  const hex3 = random(3);
  const hex16 = random(16);
  let prefix = hex4();
  const devices: Device[] = [];
  for (let i = 1; i <= count; i++) {
    let devEui = `${prefix}${i.toString(16).toUpperCase().padStart(8, '0')}`;
    while (state.euiIndex.has(`${appEui}:${devEui}`)) {
      prefix = hex4();
      devEui = `${prefix}${i.toString(16).toUpperCase().padStart(8, '0')}`;
    }
    const devId = `device-${String(i).padStart(width, '0')}`;
    devices.push({
      app_id: app.id,
      dev_id: devId,
      description: `Generated device ${i}`,
      latitude: 52.37 + (i % 100) / 1000,
      longitude: 4.89 + (i % 97) / 1000,
      altitude: 0,
      attributes: {},
      lorawan_device: {
        app_id: app.id,
        dev_id: devId,
        app_eui: appEui,
        dev_eui: devEui,
        app_key: hex16(),
        dev_addr: `26${hex3()}`,
        nwk_s_key: hex16(),
        app_s_key: hex16(),
        activation_constraints: 'otaa',
        uses32_bit_f_cnt: true,
        disable_f_cnt_check: false,
        f_cnt_up: 0,
        f_cnt_down: 0,
        last_seen: '',
      },
    });
    state.euiIndex.set(`${appEui}:${devEui}`, `${app.id}/${devId}`);
  }
  return devices;
}

/**
 * Creates an application on the account server owned by `owner`, registers it on the
 * handler and adds devices. Returns the application's default access key
 * (`messages:up:r`, `messages:down:w`) for MQTT.
 */
export function addApplication(state: SimState, input: unknown) {
  const body = obj(input) as Partial<ApplicationSeed> & Record<string, unknown>;
  const { owner, id } = body;
  if (typeof owner !== 'string' || !state.users.has(owner))
    throw notFound(`user "${String(owner)}" not found`);
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw badRequest('id must be 2-36 lowercase letters, digits, - or _');
  }
  if (state.applications.has(id)) throw conflict(`application "${id}" already exists`);
  const name = typeof body.name === 'string' ? body.name : id;
  const euis = Array.isArray(body.euis) ? body.euis : [];
  if (!euis.every((e) => typeof e === 'string' && EUI_PATTERN.test(e))) {
    throw badRequest('euis must be 16 hex digit EUIs');
  }
  const devicesInput = body.devices ?? 0;
  if (
    !Array.isArray(devicesInput) &&
    (typeof devicesInput !== 'number' ||
      !Number.isInteger(devicesInput) ||
      devicesInput < 0 ||
      devicesInput > 1_000_000)
  ) {
    throw badRequest('devices must be a count (0 to 1,000,000) or a list of devices');
  }
  // Check everything before changing anything.
  const keys = (body.accessKeys ?? []).map((k) => ({
    name: k.name,
    key: k.key,
    rights: parseRights(k.rights),
  }));
  const collaborators = (body.collaborators ?? []).map((c) => {
    if (!state.users.has(c.username)) throw notFound(`user "${c.username}" not found`);
    return { username: c.username, rights: parseRights(c.rights) };
  });
  const payloadSettings = parsePayloadSettings(body.payloadSettings);

  const app = state.createApplication(
    owner,
    id,
    name,
    (euis as string[]).map((e) => e.toUpperCase()),
  );
  for (const c of collaborators) app.collaborators.set(c.username, c.rights as AppRight[]);
  for (const k of keys) {
    const key: AccessKey = state.addAccessKey(app, k.name, k.rights);
    if (typeof k.key === 'string' && k.key !== '') {
      state.keyIndex.delete(key.key);
      key.key = k.key;
      state.keyIndex.set(k.key, app.id);
    }
  }
  const happ = {
    appId: id,
    settings: payloadSettings,
    devices: new Map<string, Device>(),
    sorted: null,
  };
  state.handlerApps.set(id, happ);
  try {
    if (Array.isArray(devicesInput)) {
      for (const raw of devicesInput) {
        const device = parseDevice(raw, id);
        const key = `${device.lorawan_device.app_eui}:${device.lorawan_device.dev_eui}`;
        if (happ.devices.has(device.dev_id) || state.euiIndex.has(key)) {
          throw conflict(`device "${device.dev_id}" or its EUIs already exist`);
        }
        state.putDevice(happ, device);
      }
    } else {
      for (const device of generateDevices(state, app, devicesInput))
        happ.devices.set(device.dev_id, device);
    }
  } catch (error) {
    state.unregisterHandlerApp(id);
    state.deleteApplication(id);
    throw error;
  }
  const defaultKey = app.accessKeys.get('default key');
  return {
    id: app.id,
    name: app.name,
    owner,
    euis: [...app.euis],
    accessKey: defaultKey?.key ?? '',
    accessKeys: [...app.accessKeys.values()],
    devices: happ.devices.size,
  };
}

export async function readSeed(file: string): Promise<Seed> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as Seed;
  } catch (error) {
    throw new Error(`the seed ${file} is not JSON: ${(error as Error).message}`);
  }
}

export function applySeed(state: SimState, seed: Seed): void {
  try {
    for (const user of seed.users ?? []) addUser(state, user);
    for (const client of seed.clients ?? []) addClient(state, client);
    for (const app of seed.applications ?? []) addApplication(state, app);
    if (seed.settings) Object.assign(state.settings, seed.settings);
  } catch (error) {
    if (error instanceof SimError) throw new Error(`invalid seed: ${error.message}`);
    throw error;
  }
}
