import type { NetworkProtocol } from '../protocol.js';
import { ttnV2Descriptor } from './describe.js';

/** The Things Network v2. Its verbs (verify, applications, devices, uplinks) come with later issues. */
export const ttnV2Protocol: NetworkProtocol = {
  describe: () => ttnV2Descriptor,
};
