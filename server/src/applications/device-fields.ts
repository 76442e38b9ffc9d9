/**
 * Checking a device's LoRaWAN identity and keys, shared by the API, CSV imports and pulls.
 * Hex may come with `:`/`-`/space separators and in either case (as TTN users copy it from
 * consoles); it is stored upper-case without them. Field names are the API's, so a 400 names
 * the field (`devEui`, `appKey`, …).
 */
import type { FieldError } from '../http/problem.js';
import type { DeviceActivation } from './applications.table.js';

export interface DeviceFieldsInput {
  name?: string | null;
  description?: string | null;
  devEui?: string | null;
  activation?: string | null;
  joinEui?: string | null;
  appKey?: string | null;
  devAddr?: string | null;
  nwkSKey?: string | null;
  appSKey?: string | null;
}

/** A device ready to store: hex normalized, fields of the other activation dropped. */
export interface DeviceFields {
  name: string;
  description: string | null;
  devEui: string;
  activation: DeviceActivation;
  joinEui: string | null;
  appKey: string | null;
  devAddr: string | null;
  nwkSKey: string | null;
  appSKey: string | null;
}

export type DeviceKeyField = 'appKey' | 'nwkSKey' | 'appSKey';

/** What people write between the bytes of an EUI, a DevAddr or a key (70:B3:…, 70-b3-…). */
export const EUI_SEPARATORS = /[\s:-]/g;
const HEX: Record<number, RegExp> = {
  8: /^[0-9A-F]{8}$/,
  16: /^[0-9A-F]{16}$/,
  32: /^[0-9A-F]{32}$/,
};

function blank(value: string | null | undefined): boolean {
  return value === undefined || value === null || value.trim() === '';
}

function hex(
  input: DeviceFieldsInput,
  field: keyof DeviceFieldsInput,
  digits: 8 | 16 | 32,
  required: boolean,
  errors: FieldError[],
): string | null {
  const raw = input[field];
  if (blank(raw)) {
    if (required) errors.push({ field, message: 'is required' });
    return null;
  }
  const value = String(raw).replace(EUI_SEPARATORS, '').toUpperCase();
  if (!HEX[digits]!.test(value)) {
    errors.push({ field, message: `must be ${digits} hexadecimal digits` });
    return null;
  }
  return value;
}

/**
 * Checks a whole device. Activation defaults to OTAA unless only ABP fields are given.
 * OTAA needs JoinEUI and AppKey; ABP needs DevAddr, NwkSKey and AppSKey (JoinEUI optional).
 * Fields of the other activation are checked, then dropped.
 */
export function checkDeviceFields(input: DeviceFieldsInput): {
  device?: DeviceFields;
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const name = (input.name ?? '').trim();
  if (name === '') errors.push({ field: 'name', message: 'is required' });
  else if (name.length > 200)
    errors.push({ field: 'name', message: 'must be at most 200 characters' });

  let activation: DeviceActivation;
  const wanted = (input.activation ?? '').trim().toLowerCase();
  if (wanted === 'otaa' || wanted === 'abp') activation = wanted;
  else if (wanted !== '') {
    errors.push({ field: 'activation', message: 'must be otaa or abp' });
    activation = 'otaa';
  } else activation = blank(input.appKey) && !blank(input.devAddr) ? 'abp' : 'otaa';

  const otaa = activation === 'otaa';
  const devEui = hex(input, 'devEui', 16, true, errors);
  const joinEui = hex(input, 'joinEui', 16, otaa, errors);
  // A value the other activation uses is checked all the same — a malformed one is a mistake
  // worth saying — and then not kept (TTN lists an OTAA device that joined with the address
  // and session keys it got; they are not ours to keep).
  const appKey = hex(input, 'appKey', 32, otaa, errors);
  const devAddr = hex(input, 'devAddr', 8, !otaa, errors);
  const nwkSKey = hex(input, 'nwkSKey', 32, !otaa, errors);
  const appSKey = hex(input, 'appSKey', 32, !otaa, errors);
  const description = blank(input.description) ? null : String(input.description).trim();
  if (description !== null && description.length > 2000) {
    errors.push({ field: 'description', message: 'must be at most 2000 characters' });
  }
  if (errors.length > 0 || devEui === null) return { errors };
  return {
    device: {
      name,
      description,
      devEui,
      activation,
      joinEui,
      appKey: otaa ? appKey : null,
      devAddr: otaa ? null : devAddr,
      nwkSKey: otaa ? null : nwkSKey,
      appSKey: otaa ? null : appSKey,
    },
    errors,
  };
}

/** Associated data of a sealed device key: the device id and the column. */
export function deviceKeyAad(deviceId: string, field: DeviceKeyField): string {
  return `devices:${deviceId}:${COLUMN[field]}`;
}

const COLUMN: Record<DeviceKeyField, string> = {
  appKey: 'app_key',
  nwkSKey: 'nwk_s_key',
  appSKey: 'app_s_key',
};

/** Associated data of an application link's sealed access key (the uplinks feature opens it). */
export function accessKeyAad(linkId: string): string {
  return `application_links:${linkId}:access_key`;
}
