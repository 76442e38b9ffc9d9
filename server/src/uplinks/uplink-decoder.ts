/**
 * Reads uplink messages into stored documents on a thread of its own (uplink-decoder.thread.ts):
 * parsing the network's JSON, normalizing it, deriving the message id and serializing the
 * document were nearly a third of the event loop's time per uplink in the uplinks bench, and
 * the event loop is the server's busiest thread (it also reads MQTT, hands batches to the
 * database and delivers).
 *
 * Messages are sent to the thread in batches (those received in one turn of the event loop)
 * with their payloads copied into one buffer that is transferred, not cloned; the answers come
 * back in the same order. A thread that fails fails its batches (the messages stay
 * unacknowledged) and the next batch starts a new one.
 */
import type { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import type { RawUplink } from '../protocols/protocol.js';
import { startServingThread } from '../threads.js';
import { Backlog } from './backlog.js';
import type { DocumentContext } from './document.js';

/** At most this many uplinks per message to the thread. */
const MAX_BATCH = 500;
/** Uplinks waiting to be read past which the subscriptions stop reading (see Backlog). */
const HIGH_WATER = 4 * MAX_BATCH;
const LOW_WATER = 2 * MAX_BATCH;

/** An uplink read: its message id, time and document (JSON); or why it could not be read. */
export type DecodedUplink =
  { id: string; receivedAt: string; document: string } | { unreadable: string };

export interface DecodeRequest {
  id: number;
  /** The subscriptions the uplinks came from; items point into it. */
  contexts: DocumentContext[];
  items: {
    context: number;
    deviceId: string | null;
    topic: string;
    receivedAtMs: number;
    /** The item's payload is `payloads` from the previous item's end to this one. */
    end: number;
  }[];
  payloads: ArrayBuffer;
}

export type DecodeAnswer = { id: number; results: DecodedUplink[] } | { id: number; error: string };

interface Waiting {
  context: DocumentContext;
  deviceId: string | null;
  uplink: RawUplink;
  resolve: (decoded: DecodedUplink) => void;
  reject: (error: Error) => void;
}

export class UplinkDecoder {
  private worker: Worker | undefined;
  private gathering: Waiting[] = [];
  private readonly sent = new Map<number, Waiting[]>();
  private readonly backlog = new Backlog(HIGH_WATER, LOW_WATER);
  private nextId = 1;
  private closed = false;

  constructor(private readonly log: FastifyBaseLogger) {}

  /** Reads an uplink of the subscription `context`, from the device `deviceId` (if known). */
  decode(
    context: DocumentContext,
    deviceId: string | null,
    uplink: RawUplink,
  ): Promise<DecodedUplink> {
    if (this.closed) return Promise.reject(new Error('the uplink decoder is closed'));
    return new Promise((resolve, reject) => {
      this.gathering.push({ context, deviceId, uplink, resolve, reject });
      this.backlog.add(1);
      // The messages already read from the sockets join this batch.
      if (this.gathering.length === 1) setImmediate(() => this.send());
      else if (this.gathering.length >= MAX_BATCH) this.send();
    });
  }

  /** Flow control: see Backlog. */
  ready(): Promise<void> | undefined {
    return this.backlog.ready();
  }

  /** Resolves once every uplink given so far has been read (or failed). */
  async idle(): Promise<void> {
    while (this.backlog.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private send(): void {
    const batch = this.gathering;
    if (batch.length === 0) return;
    this.gathering = [];
    let bytes = 0;
    for (const waiting of batch) bytes += waiting.uplink.payload.length;
    // A buffer of its own, transferred: an MQTT payload is a view into a larger buffer, which
    // cloning would copy whole.
    const payloads = new Uint8Array(bytes);
    const contexts: DocumentContext[] = [];
    const contextIndex = new Map<DocumentContext, number>();
    let end = 0;
    const items = batch.map(({ context, deviceId, uplink }) => {
      payloads.set(uplink.payload, end);
      end += uplink.payload.length;
      let index = contextIndex.get(context);
      if (index === undefined) {
        index = contexts.push(context) - 1;
        contextIndex.set(context, index);
      }
      return {
        context: index,
        deviceId,
        topic: uplink.topic,
        receivedAtMs: uplink.receivedAtMs,
        end,
      };
    });
    const id = this.nextId++;
    this.sent.set(id, batch);
    const request: DecodeRequest = { id, contexts, items, payloads: payloads.buffer };
    (this.worker ?? this.start()).postMessage(request, [payloads.buffer]);
  }

  private answered(answer: DecodeAnswer): void {
    const batch = this.sent.get(answer.id);
    if (batch === undefined) return;
    this.sent.delete(answer.id);
    this.backlog.remove(batch.length);
    if ('error' in answer) {
      const error = new Error(`uplinks could not be read: ${answer.error}`);
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(answer.results[i]!);
  }

  private start(): Worker {
    const worker = startServingThread(
      new URL('./uplink-decoder.thread', import.meta.url),
      undefined,
      {
        name: 'uplink decoding thread',
        log: this.log,
        onMessage: (answer: DecodeAnswer) => this.answered(answer),
        // A thread that ends (it should not) fails its batches; the next batch starts a new one.
        // One that close() terminated is no longer this.worker.
        ended: (error) => {
          if (this.worker !== worker) return;
          this.worker = undefined;
          for (const [id, batch] of this.sent) {
            this.sent.delete(id);
            this.backlog.remove(batch.length);
            for (const waiting of batch) waiting.reject(error);
          }
        },
      },
    );
    this.worker = worker;
    return worker;
  }
}
