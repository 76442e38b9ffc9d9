/**
 * Each protocol's uplink parser, by protocol id. The uplink decoding thread
 * (uplinks/uplink-decoder.thread.ts) imports this module and nothing else of the protocols, so
 * a parser must be a pure function of its module: no server state, no network.
 */
import type { UplinkParser } from './protocol.js';
import { TTN_V2_ID } from './ttn-v2/describe.js';
import { parseUplink as parseTtnV2Uplink } from './ttn-v2/uplinks.js';

export const UPLINK_PARSERS: Readonly<Record<string, UplinkParser>> = {
  [TTN_V2_ID]: parseTtnV2Uplink,
};
