import type { ClientCredentials } from './oauth.js';
import type { NetworkProtocol, ProtocolDescriptor } from './protocol.js';
import { ttnV2Protocol } from './ttn-v2/index.js';

/** The protocols this server offers. A new network type is one folder plus one line here. */
export const BUILT_IN_PROTOCOLS: readonly NetworkProtocol[] = [ttnV2Protocol];

export class ProtocolRegistry {
  private readonly byId = new Map<string, NetworkProtocol>();

  /**
   * @param serverClients deployment-wide OAuth clients by protocol id: with one, a network of
   *   that protocol need not bring its own client, so the client fields become optional.
   */
  constructor(
    protocols: readonly NetworkProtocol[] = BUILT_IN_PROTOCOLS,
    private readonly serverClients: Readonly<Record<string, ClientCredentials>> = {},
  ) {
    for (const protocol of protocols) {
      const { id } = protocol.describe();
      if (this.byId.has(id)) throw new Error(`Protocol ${id} is registered twice`);
      this.byId.set(id, protocol);
    }
  }

  get(id: string): NetworkProtocol | undefined {
    return this.byId.get(id);
  }

  /** The protocol as this deployment offers it (client fields optional with a server client). */
  describe(id: string): ProtocolDescriptor | undefined {
    const descriptor = this.byId.get(id)?.describe();
    if (descriptor === undefined || descriptor.authorization.kind !== 'oauth2') return descriptor;
    const client = this.serverClients[id];
    if (client === undefined) return descriptor;
    const { clientFields } = descriptor.authorization;
    const optional = new Set([clientFields.id, clientFields.secret]);
    return {
      ...descriptor,
      fields: descriptor.fields.map((field) =>
        optional.has(field.name)
          ? {
              ...field,
              required: false,
              help: `${field.help ?? ''} Leave empty to use this server's client (${client.clientId}).`.trim(),
            }
          : field,
      ),
    };
  }

  /** The deployment-wide OAuth client for a protocol, if the operator configured one. */
  serverClient(id: string): ClientCredentials | undefined {
    return this.serverClients[id];
  }

  list(): NetworkProtocol[] {
    return [...this.byId.values()];
  }
}
