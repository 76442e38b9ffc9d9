import type { NetworkProtocol, ProtocolDescriptor } from './protocol.js';
import { ttnV2Protocol } from './ttn-v2/index.js';

/** The protocols this server offers. A new network type is one folder plus one line here. */
export const BUILT_IN_PROTOCOLS: readonly NetworkProtocol[] = [ttnV2Protocol];

export class ProtocolRegistry {
  private readonly byId = new Map<string, NetworkProtocol>();

  constructor(protocols: readonly NetworkProtocol[] = BUILT_IN_PROTOCOLS) {
    for (const protocol of protocols) {
      const { id } = protocol.describe();
      if (this.byId.has(id)) throw new Error(`Protocol ${id} is registered twice`);
      this.byId.set(id, protocol);
    }
  }

  get(id: string): NetworkProtocol | undefined {
    return this.byId.get(id);
  }

  describe(id: string): ProtocolDescriptor | undefined {
    return this.byId.get(id)?.describe();
  }

  list(): NetworkProtocol[] {
    return [...this.byId.values()];
  }
}
