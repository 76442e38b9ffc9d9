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
