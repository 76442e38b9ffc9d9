import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** An application of an organization: its devices' uplinks go to `reporting_url`. */
export interface ApplicationsTable {
  id: string;
  organization_id: string;
  name: string;
  description: string | null;
  /** Where normalized uplinks are delivered (HTTP POST); null = not delivered. */
  reporting_url: string | null;
  /** HMAC-SHA256 key for X-LPWAN-Signature, sealed (associated data: application id). */
  reporting_secret_sealed: string | null;
  /** Raised by every write to the application's devices; device list answers are cached by it. */
  devices_version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export type DeviceActivation = 'otaa' | 'abp';

/**
 * A LoRaWAN device. EUIs, DevAddr and keys are upper-case hex; keys are sealed (associated
 * data: device id and field name).
 */
export interface DevicesTable {
  id: string;
  organization_id: string;
  application_id: string;
  name: string;
  description: string | null;
  dev_eui: string;
  activation: DeviceActivation;
  /** OTAA: JoinEUI (AppEUI in LoRaWAN 1.0). */
  join_eui: string | null;
  app_key_sealed: string | null;
  /** ABP: device address and session keys. */
  dev_addr: string | null;
  nwk_s_key_sealed: string | null;
  app_s_key_sealed: string | null;
  last_seen_at: string | null;
  created_at: string;
  updated_at: string;
}

export type LinkState = 'pending' | 'synced' | 'error';

/** An application as it exists on one network (`remote_id`: the network's application id). */
export interface ApplicationLinksTable {
  id: string;
  application_id: string;
  network_id: string;
  remote_id: string;
  state: LinkState;
  last_error: string | null;
  last_attempt_at: string | null;
  synced_at: string | null;
  /** The network's access key for receiving uplinks (TTN: `messages:up:r`), sealed (associated data: link id). */
  access_key_sealed: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * An application unlinked from a network that kept it there: the application on the network it
 * was linked to, which a pull matches to it again (migration 0013).
 */
export interface UnlinkedRemotesTable {
  network_id: string;
  remote_id: string;
  application_id: string;
  unlinked_at: string;
}

/** A device as it exists on one network, under its application's link. */
export interface DeviceLinksTable {
  id: string;
  device_id: string;
  application_link_id: string;
  remote_id: string;
  state: LinkState;
  last_error: string | null;
  last_attempt_at: string | null;
  synced_at: string | null;
  created_at: string;
  updated_at: string;
}

export type ApplicationRow = Selectable<ApplicationsTable>;
export type NewApplicationRow = Insertable<ApplicationsTable>;
export type ApplicationUpdate = Updateable<ApplicationsTable>;
export type DeviceRow = Selectable<DevicesTable>;
export type DeviceUpdate = Updateable<DevicesTable>;
export type ApplicationLinkRow = Selectable<ApplicationLinksTable>;
export type DeviceLinkRow = Selectable<DeviceLinksTable>;
