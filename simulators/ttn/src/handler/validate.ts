import { ID_PATTERN } from '../account/api.js';
import { badRequest } from '../errors.js';
import type { Device, LorawanDevice } from '../state.js';

const HEX8 = /^[0-9A-Fa-f]{8}$/;
const HEX16 = /^[0-9A-Fa-f]{16}$/;
const HEX32 = /^[0-9A-Fa-f]{32}$/;
const ACTIVATIONS = ['otaa', 'abp', 'local', ''];

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hex(obj: Obj, field: string, pattern: RegExp, digits: number, needed: boolean): string {
  const value = obj[field];
  if (value === undefined || value === null || value === '') {
    if (needed) throw badRequest(`lorawan_device.${field} is required`);
    return '';
  }
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw badRequest(`lorawan_device.${field} must be ${digits} hex digits`);
  }
  return value.toUpperCase();
}

function num(obj: Obj, field: string, prefix = ''): number {
  const value = obj[field];
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw badRequest(`${prefix}${field} must be a number`);
  }
  return value;
}

function counter(obj: Obj, field: string): number {
  const value = num(obj, field, 'lorawan_device.');
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw badRequest(`lorawan_device.${field} must be a 32-bit unsigned integer`);
  }
  return value;
}

function bool(obj: Obj, field: string): boolean {
  const value = obj[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw badRequest(`lorawan_device.${field} must be a boolean`);
  return value;
}

/**
 * Checks a device as TTN's handler did (ids, EUIs of 16 hex digits, keys of 32, DevAddr of
 * 8; OTAA needs an AppKey, ABP a DevAddr and session keys) and returns it normalized
 * (hex in upper case, every field present).
 */
export function parseDevice(body: unknown, appId: string, pathDevId?: string): Device {
  if (!isObject(body)) throw badRequest('the body must be a device object');
  const devId = body.dev_id ?? pathDevId;
  if (typeof devId !== 'string' || !ID_PATTERN.test(devId)) {
    throw badRequest('dev_id must be 2-36 lowercase letters, digits, - or _');
  }
  if (pathDevId !== undefined && devId !== pathDevId) {
    throw badRequest('dev_id in the body does not match the path');
  }
  if (body.app_id !== undefined && body.app_id !== appId) {
    throw badRequest('app_id in the body does not match the path');
  }
  const description = body.description ?? '';
  if (typeof description !== 'string') throw badRequest('description must be a string');
  const attributes = body.attributes ?? {};
  if (!isObject(attributes) || !Object.values(attributes).every((v) => typeof v === 'string')) {
    throw badRequest('attributes must map names to strings');
  }
  const lw = body.lorawan_device;
  if (!isObject(lw)) throw badRequest('lorawan_device is required');
  if (lw.app_id !== undefined && lw.app_id !== '' && lw.app_id !== appId) {
    throw badRequest('lorawan_device.app_id does not match the application');
  }
  if (lw.dev_id !== undefined && lw.dev_id !== '' && lw.dev_id !== devId) {
    throw badRequest('lorawan_device.dev_id does not match dev_id');
  }
  const activation = lw.activation_constraints ?? 'otaa';
  if (typeof activation !== 'string' || !ACTIVATIONS.includes(activation)) {
    throw badRequest('lorawan_device.activation_constraints must be "otaa", "abp" or "local"');
  }
  const abp = activation === 'abp';
  const lastSeen = lw.last_seen ?? '';
  const lorawan: LorawanDevice = {
    app_id: appId,
    dev_id: devId,
    app_eui: hex(lw, 'app_eui', HEX16, 16, true),
    dev_eui: hex(lw, 'dev_eui', HEX16, 16, true),
    app_key: hex(lw, 'app_key', HEX32, 32, activation === 'otaa'),
    dev_addr: hex(lw, 'dev_addr', HEX8, 8, abp),
    nwk_s_key: hex(lw, 'nwk_s_key', HEX32, 32, abp),
    app_s_key: hex(lw, 'app_s_key', HEX32, 32, abp),
    activation_constraints: activation,
    uses32_bit_f_cnt: bool(lw, 'uses32_bit_f_cnt'),
    disable_f_cnt_check: bool(lw, 'disable_f_cnt_check'),
    f_cnt_up: counter(lw, 'f_cnt_up'),
    f_cnt_down: counter(lw, 'f_cnt_down'),
    last_seen: typeof lastSeen === 'string' ? lastSeen : '',
  };
  return {
    app_id: appId,
    dev_id: devId,
    description,
    latitude: num(body, 'latitude'),
    longitude: num(body, 'longitude'),
    altitude: num(body, 'altitude'),
    attributes: attributes as Record<string, string>,
    lorawan_device: lorawan,
  };
}
