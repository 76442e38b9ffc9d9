/**
 * The uplink decoding thread (see uplink-decoder.ts): reads each message with its protocol's
 * parser and turns it into the stored document, a batch at a time, answering in order.
 */
import { parentPort } from 'node:worker_threads';
import { UnreadableMessage } from '../protocols/errors.js';
import { UPLINK_PARSERS } from '../protocols/uplink-parsers.js';
import { lowerPriorityOfThisThread } from '../threads.js';
import { toDocument } from './document.js';
import type { DecodeAnswer, DecodeRequest, DecodedUplink } from './uplink-decoder.js';

lowerPriorityOfThisThread();
const port = parentPort!;

port.on('message', (request: DecodeRequest) => {
  let answer: DecodeAnswer;
  try {
    answer = { id: request.id, results: decodeAll(request) };
  } catch (error) {
    answer = { id: request.id, error: (error as Error).message ?? String(error) };
  }
  port.postMessage(answer);
});

function decodeAll({ contexts, items, payloads }: DecodeRequest): DecodedUplink[] {
  const bytes = Buffer.from(payloads);
  let start = 0;
  return items.map(({ context: index, deviceId, topic, receivedAtMs, end }) => {
    const payload = bytes.subarray(start, end);
    start = end;
    const context = contexts[index]!;
    const parse = UPLINK_PARSERS[context.network.protocol];
    if (parse === undefined)
      return { unreadable: `no uplink parser for ${context.network.protocol}` };
    try {
      const document = toDocument(context, deviceId, parse(topic, payload, receivedAtMs));
      return {
        id: document.id,
        receivedAt: document.receivedAt,
        document: JSON.stringify(document),
      };
    } catch (error) {
      if (error instanceof UnreadableMessage) return { unreadable: error.message };
      throw error;
    }
  });
}
