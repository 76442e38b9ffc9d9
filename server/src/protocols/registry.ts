import type { ClientCredentials, ServerClientConfig } from './oauth.js';
import { normalizedBaseUrl, sameBaseUrl } from './base-url.js';
import type { NetworkProtocol, ProtocolDescriptor } from './protocol.js';
import { ttnV2Protocol } from './ttn-v2/index.js';

/** The protocols this server offers. A new network type is one folder plus one line here. */
export const BUILT_IN_PROTOCOLS: readonly NetworkProtocol[] = [ttnV2Protocol];

/** A deployment-wide client with the base URL it is registered at, and the setting holding it. */
interface ServerClient extends ClientCredentials {
  baseUrl: string;
  baseField: string;
}

export class ProtocolRegistry {
  private readonly byId = new Map<string, NetworkProtocol>();
  private readonly serverClients = new Map<string, ServerClient>();

  /**
   * @param serverClients deployment-wide OAuth clients by protocol id: with one, a network of
   *   that protocol that signs in where the client is registered need not bring its own client.
   */
  constructor(
    protocols: readonly NetworkProtocol[] = BUILT_IN_PROTOCOLS,
    serverClients: Readonly<Record<string, ServerClientConfig>> = {},
  ) {
    for (const protocol of protocols) {
      const { id } = protocol.describe();
      if (this.byId.has(id)) throw new Error(`Protocol ${id} is registered twice`);
      this.byId.set(id, protocol);
    }
    for (const [id, client] of Object.entries(serverClients)) {
      const descriptor = this.byId.get(id)?.describe();
      if (descriptor?.authorization.kind !== 'oauth2') continue;
      const { baseField } = descriptor.authorization.tokenEndpoint;
      const baseUrl =
        client.baseUrl ?? descriptor.fields.find((f) => f.name === baseField)?.default;
      if (baseUrl === undefined)
        throw new Error(`The server client of ${id} needs the URL it is registered at`);
      this.serverClients.set(id, {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        baseUrl: normalizedBaseUrl(baseUrl),
        baseField,
      });
    }
  }

  get(id: string): NetworkProtocol | undefined {
    return this.byId.get(id);
  }

  /**
   * The protocol as this deployment offers it: with a server client, the client fields are
   * optional and `authorization.serverClient` says whose client it is and where it signs in.
   */
  describe(id: string): ProtocolDescriptor | undefined {
    const descriptor = this.byId.get(id)?.describe();
    if (descriptor === undefined || descriptor.authorization.kind !== 'oauth2') return descriptor;
    const client = this.serverClients.get(id);
    if (client === undefined) return descriptor;
    const { clientFields } = descriptor.authorization;
    const optional = new Set([clientFields.id, clientFields.secret]);
    return {
      ...descriptor,
      authorization: {
        ...descriptor.authorization,
        serverClient: { clientId: client.clientId, baseUrl: client.baseUrl },
      },
      fields: descriptor.fields.map((field) =>
        optional.has(field.name)
          ? {
              ...field,
              required: false,
              help: `${field.help ?? ''} Leave empty to use this server's client (${client.clientId}), which signs in at ${client.baseUrl} only.`.trim(),
            }
          : field,
      ),
    };
  }

  /**
   * The deployment-wide client to use for a network with these settings: only where it is
   * registered, since the token endpoint is sent its secret.
   */
  serverClientFor(
    id: string,
    settings: Readonly<Record<string, string>>,
  ): ClientCredentials | undefined {
    const client = this.serverClients.get(id);
    if (client === undefined) return undefined;
    const base = settings[client.baseField];
    if (base === undefined || !sameBaseUrl(base, client.baseUrl)) return undefined;
    return { clientId: client.clientId, clientSecret: client.clientSecret };
  }

  /** Every protocol as this deployment offers it (see describe). */
  describeAll(): ProtocolDescriptor[] {
    return [...this.byId.keys()].map((id) => this.describe(id)!);
  }
}
