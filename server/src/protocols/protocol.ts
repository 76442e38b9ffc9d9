/**
 * The NetworkProtocol plug-in: everything the server knows about one kind of network server.
 *
 * A protocol is one object: `describe()` says who it is, which settings it needs and how an
 * account is linked; the verbs (verify the link, applications, devices, uplinks) are added by
 * the issues that bring them, each protocol implementing them in its own folder. A protocol
 * receives what it needs (an authorized fetch, a logger) and never imports Fastify or Kysely.
 */

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
}
