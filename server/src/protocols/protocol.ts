/**
 * The NetworkProtocol plug-in: everything the server knows about one kind of network server.
 *
 * A protocol is one object: `describe()` says who it is, which settings it needs and how an
 * account is linked; the verbs (verify the link, applications, devices, uplinks) are added by
 * the issues that bring them, each protocol implementing them in its own folder. A protocol
 * receives what it needs (an authorized fetch, a logger) and never imports Fastify or Kysely.
 */

import type { NetworkSettings, OAuthLink } from './oauth.js';

export type FieldType = 'string' | 'url' | 'password';

export interface FieldSpec {
  /** Key in the network's `settings` object. */
  name: string;
  /** What the portal shows. */
  label: string;
  type: FieldType;
  required: boolean;
  /** Stored encrypted and never returned (answers show `{ "set": true }`). */
  secret: boolean;
  placeholder?: string;
  help?: string;
  /** Applied when the setting is left out at creation. */
  default?: string;
  /** For `url` fields: accepted URL schemes, without the colon. Not part of the API answer. */
  schemes?: readonly string[];
}

/** Where an OAuth endpoint lives: a path relative to the URL held by one of the settings. */
export interface EndpointRef {
  baseField: string;
  path: string;
}

export type AuthorizationSpec =
  | {
      kind: 'oauth2';
      authorizeEndpoint: EndpointRef;
      tokenEndpoint: EndpointRef;
      scopes?: readonly string[];
      /** The settings that hold the OAuth client; optional when the server has a client of its own. */
      clientFields: { id: string; secret: string };
      /**
       * Set by the registry (never by a protocol) when the operator configured a client for the
       * protocol: its id, and the token endpoint's base URL it is registered at. Networks whose
       * base URL is another need a client of their own (its secret would be sent there).
       */
      serverClient?: { clientId: string; baseUrl: string };
    }
  | { kind: 'api-key' };

export interface ProtocolDescriptor {
  /** Stable id used in URLs and stored with each network, e.g. `ttn-v2`. */
  id: string;
  name: string;
  version: string;
  networkType: 'lorawan';
  authorization: AuthorizationSpec;
  fields: readonly FieldSpec[];
}

export interface NetworkProtocol {
  describe(): ProtocolDescriptor;
  /** Present when `describe().authorization.kind` is 'oauth2': the token grants on the wire. */
  oauth?: OAuthLink;
  /** The applications the linked account can see, through a fetch that carries its token. */
  listApplications?(ctx: ProtocolContext): Promise<RemoteApplication[]>;
  /** One page of an application's devices on the network. */
  listDevices?(
    ctx: ProtocolContext,
    appId: string,
    page: { limit: number; offset: number },
  ): Promise<RemoteDevice[]>;

  // Push and pull (applications/sync, applications/pull). Each verb throws the typed errors of
  // errors.ts: `Conflict` when a create finds the object there already, `NotFound` when it is gone.

  /** Creates an application on the linked account. */
  createApplication?(
    ctx: ProtocolContext,
    app: { id: string; name: string },
  ): Promise<RemoteApplication>;
  getApplication?(ctx: ProtocolContext, appId: string): Promise<RemoteApplication>;
  renameApplication?(ctx: ProtocolContext, appId: string, name: string): Promise<void>;
  /** Removes the application and everything under it from the network. */
  deleteApplication?(ctx: ProtocolContext, appId: string): Promise<void>;
  /** Makes an existing application ready to hold devices (TTN v2: registers it on the handler). Idempotent. */
  prepareApplication?(ctx: ProtocolContext, appId: string): Promise<void>;
  /**
   * A long-lived key that receives the application's uplinks and sends downlinks, created under
   * `name` (or the existing key of that name). A secret: store it sealed, never log it.
   */
  ensureUplinkKey?(ctx: ProtocolContext, appId: string, name: string): Promise<string>;
  /** Creates a device; `Conflict` when its id (or its EUIs) are taken. */
  createDevice?(ctx: ProtocolContext, appId: string, device: DeviceSpec): Promise<void>;
  getDevice?(ctx: ProtocolContext, appId: string, deviceId: string): Promise<RemoteDeviceDetail>;
  /** Changes a device to match `device`, keeping what the network tracks itself (frame counters). */
  updateDevice?(ctx: ProtocolContext, appId: string, device: DeviceSpec): Promise<void>;
  deleteDevice?(ctx: ProtocolContext, appId: string, deviceId: string): Promise<void>;
  /** One page of an application's devices with their keys, for importing them. */
  exportDevices?(
    ctx: ProtocolContext,
    appId: string,
    page: { limit: number; offset: number },
  ): Promise<RemoteDeviceDetail[]>;

  // Uplinks and downlinks (uplinks/). Neither needs the account's token: a network's data
  // plane is reached with an application key.

  /**
   * Receives an application's uplinks and activations until closed, reconnecting by itself.
   * The network's acknowledgement of a message waits for `onUplink` or `onActivation` to
   * resolve.
   */
  subscribeUplinks?(target: UplinkTarget, handlers: UplinkHandlers): UplinkSubscription;
  /** Queues a downlink for a device on the network. */
  sendDownlink?(target: UplinkTarget, downlink: DownlinkRequest): Promise<void>;
}

/** What a protocol verb receives: the network's settings and a fetch that is already authorized. */
export interface ProtocolContext {
  networkId: string;
  settings: NetworkSettings;
  fetch: (url: string | URL, init?: RequestInit) => Promise<Response>;
}

export interface RemoteApplication {
  id: string;
  name: string;
  euis: string[];
}

/** A device as the network knows it (no keys: listing never moves secrets). */
export interface RemoteDevice {
  id: string;
  description: string | null;
  devEui: string | null;
  appEui: string | null;
  devAddr: string | null;
  activation: 'otaa' | 'abp';
}

/** A device with its keys, as pushed to or pulled from a network. Hex is upper case. */
export interface DeviceSpec {
  id: string;
  description: string | null;
  devEui: string;
  activation: 'otaa' | 'abp';
  /** JoinEUI / AppEUI; for ABP devices the network may pick the application's own. */
  joinEui: string | null;
  appKey: string | null;
  devAddr: string | null;
  nwkSKey: string | null;
  appSKey: string | null;
}

/** A device read from a network, keys included (pulls): handle as a secret. */
export interface RemoteDeviceDetail extends RemoteDevice {
  appKey: string | null;
  nwkSKey: string | null;
  appSKey: string | null;
}

/** Where an application's data plane is reached: its id on the network and its access key. */
export interface UplinkTarget {
  networkId: string;
  settings: NetworkSettings;
  remoteAppId: string;
  /** A secret (TTN: an access key with `messages:up:r`): never log it. */
  accessKey: string;
  /** Identifies this subscriber at the network (MQTT client id); the same for every holder. */
  clientId: string;
}

/** One gateway that heard an uplink. */
export interface GatewayReception {
  id: string;
  time: string | null;
  /** dBm */
  rssi: number | null;
  /** dB */
  snr: number | null;
  channel: number | null;
  latitude: number | null;
  longitude: number | null;
  altitude: number | null;
}

/** An uplink as a network reported it, in the protocol-neutral shape (uplinks/document.ts adds local ids). */
export interface NetworkUplink {
  /** The same for the same network message, e.g. when it is delivered twice. */
  messageKey: string;
  /**
   * The time the message itself carries (ms since the epoch), as much part of it as its key;
   * null when it carries none. Message ids start with it, so they are stored in time order.
   */
  messageTime: number | null;
  remoteDeviceId: string;
  devEui: string | null;
  receivedAt: string;
  fPort: number | null;
  fCnt: number | null;
  confirmed: boolean;
  /** The device sent this frame again (a retransmission). */
  retry: boolean;
  /** Base64 of the FRMPayload (decrypted application payload); null for an empty frame. */
  payload: string | null;
  /** Fields the network's payload decoder produced, if it ran one. */
  decoded: Record<string, unknown> | null;
  radio: {
    /** MHz */
    frequency: number | null;
    modulation: string | null;
    dataRate: string | null;
    codingRate: string | null;
    airtimeMs: number | null;
    gateways: GatewayReception[];
  };
}

/** A device's (re)activation on the network (OTAA join). */
export interface NetworkActivation {
  remoteDeviceId: string;
  devEui: string | null;
  devAddr: string | null;
  receivedAt: string;
}

/**
 * An uplink message as it came from the network, not yet read: the server reads it on its
 * uplink decoding thread with the protocol's `UplinkParser`, off the event loop.
 */
export interface RawUplink {
  /** The device's id on the network, read from where the message came (e.g. its topic). */
  remoteDeviceId: string;
  topic: string;
  payload: Buffer;
  /** When it was received (ms since the epoch). */
  receivedAtMs: number;
}

/**
 * Reads a protocol's uplink message. Pure and self-contained: it runs on the uplink decoding
 * thread (protocols/uplink-parsers.ts lists one per protocol). Throws UnreadableMessage
 * (errors.ts) when the message is not in the network's format.
 * @param receivedAtMs  used when the message carries no time of its own (ms since the epoch)
 */
export type UplinkParser = (topic: string, payload: Buffer, receivedAtMs: number) => NetworkUplink;

export type SubscriptionStatus = 'connecting' | 'subscribed' | 'reconnecting' | 'refused';

export interface UplinkHandlers {
  /** Resolves once the uplink is stored; rejecting leaves the message unacknowledged. */
  onUplink(uplink: RawUplink): Promise<void>;
  /** Resolves once the activation is recorded; rejecting leaves it unacknowledged. */
  onActivation(activation: NetworkActivation): Promise<void>;
  /** `refused`: the network refused the key or the subscription; `error` says why. */
  onStatus(status: SubscriptionStatus, error?: string): void;
  /** A message that could not be read or stored (it is acknowledged and dropped). */
  onDiscard(topic: string, reason: string): void;
  /**
   * Flow control: undefined while the server takes more at once; otherwise a promise that
   * resolves once it does. The subscription reads no further message meanwhile, so the
   * network's broker holds them (a flood is read as fast as it is stored, not into memory).
   */
  ready(): Promise<void> | undefined;
}

export interface UplinkSubscription {
  close(): Promise<void>;
  /**
   * Another process is about to take this subscription over (with the same client id): keep
   * receiving until the broker closes this connection for it, then end without reconnecting.
   * Resolves once ended. Without it, a hand-over closes the subscription first (a gap).
   */
  handOver?(): Promise<void>;
}

export interface DownlinkRequest {
  remoteDeviceId: string;
  fPort: number;
  /** Base64 */
  payload: string;
  confirmed: boolean;
}
