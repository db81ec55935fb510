import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { constants as zlibConstants, type DeflateRaw } from 'node:zlib';
import { errorMessage } from '../../core/errors';
import { ConnectionClosedError, ResponseStreamError } from './errors';

/**
 * Responses queued with `push` are sent in one socket write once this many bytes are pending (or
 * at the next `write`/`flush`): a FETCH of a range answers thousands of short lines, and one write
 * per line costs a syscall and a promise each.
 */
export const RESPONSE_BATCH_BYTES = 64 * 1024;

/** Writes responses to the socket, waiting for `drain` when the peer reads slower than we write. */
export class ResponseWriter {
  private batch: Array<string | Buffer> = [];
  private batchBytes = 0;

  /** Where responses go: the socket, or a DEFLATE stream piped into it (RFC 4978). */
  private target: Writable;
  private deflate: DeflateRaw | null = null;
  private flushScheduled = false;

  constructor(private socket: Socket) {
    this.target = socket;
  }

  get closed(): boolean {
    return this.socket.destroyed || this.socket.writableEnded || this.target.writableEnded;
  }

  /** From now on responses go to this socket (the TLS socket after STARTTLS). */
  useSocket(socket: Socket): void {
    this.socket = socket;
    this.target = socket;
  }

  get compressed(): boolean {
    return this.deflate !== null;
  }

  /** From now on every response is compressed (COMPRESS=DEFLATE, after its tagged OK was written). */
  compressWith(deflate: DeflateRaw): void {
    this.deflate = deflate;
    this.target = deflate;
    deflate.pipe(this.socket);
  }

  /** Ends the output (the DEFLATE stream is finished first, so the peer gets every byte). */
  end(): void {
    const pending = this.takeBatch('');
    if (pending.length > 0 && !this.closed) this.target.write(pending);
    if (this.deflate) this.deflate.end();
    else this.socket.end();
  }

  /**
   * Queues response bytes without writing them; they go out with the next `write`, `flush`, or
   * `flushIfFull` past RESPONSE_BATCH_BYTES. Strings are counted by length (an upper bound for
   * the 7-bit text of responses is not needed: the bound only decides when to flush).
   */
  push(data: string | Buffer): void {
    this.batch.push(data);
    this.batchBytes += data.length;
  }

  /** Writes the queued bytes when they reached RESPONSE_BATCH_BYTES. */
  async flushIfFull(): Promise<void> {
    if (this.batchBytes >= RESPONSE_BATCH_BYTES) await this.flush();
  }

  /** Writes the queued bytes, if any. */
  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    await this.write(Buffer.alloc(0));
  }

  /** Queued bytes and `data` as one chunk. */
  private takeBatch(data: string | Buffer): string | Buffer {
    if (this.batch.length === 0) return data;
    this.batch.push(data);
    const parts = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    if (parts.every((part) => typeof part === 'string')) return (parts as string[]).join('');
    return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));
  }

  /** Throws ConnectionClosedError when the peer is gone. Queued bytes (`push`) go first. */
  async write(data: string | Buffer): Promise<void> {
    if (this.closed) {
      this.batch = [];
      this.batchBytes = 0;
      throw new ConnectionClosedError();
    }
    const chunk = this.takeBatch(data);
    if (chunk.length === 0) return;
    const flowing = this.target.write(chunk);
    this.scheduleFlush();
    if (!flowing) await this.drained();
  }

  /**
   * A compressed stream must be flushed for the peer to see a response; flushing once per turn of
   * the event loop (not per write) keeps the compression ratio of multi-line responses.
   */
  private scheduleFlush(): void {
    const deflate = this.deflate;
    if (!deflate || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!deflate.writableEnded && !deflate.destroyed) deflate.flush(zlibConstants.Z_SYNC_FLUSH);
    });
  }

  async line(text: string): Promise<void> {
    await this.write(`${text}\r\n`);
  }

  /**
   * Streams bytes `start .. start+length` of `source` as literal content (the `{length}` CRLF
   * announcing it is already written). When the source cannot deliver exactly these bytes the
   * literal would desynchronize the peer: ResponseStreamError, and the caller drops the connection.
   * With `exact`, the source must also end right after them (a whole blob of announced size).
   */
  async pipe(source: Readable, start: number, length: number, exact: boolean): Promise<void> {
    let skipped = 0;
    let sent = 0;
    try {
      for await (const chunk of source as AsyncIterable<Buffer | string>) {
        let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (skipped < start) {
          const skip = Math.min(start - skipped, bytes.length);
          skipped += skip;
          bytes = bytes.subarray(skip);
        }
        if (bytes.length === 0) continue;
        if (sent + bytes.length > length) {
          if (exact) throw new ResponseStreamError(`blob is longer than the ${length} bytes announced`);
          bytes = bytes.subarray(0, length - sent);
        }
        await this.write(bytes);
        sent += bytes.length;
        if (sent === length && !exact) break;
      }
    } catch (err) {
      if (err instanceof ConnectionClosedError || err instanceof ResponseStreamError) throw err;
      throw new ResponseStreamError(`blob stream failed: ${errorMessage(err)}`);
    } finally {
      source.destroy();
    }
    if (sent !== length) throw new ResponseStreamError(`blob ended after ${sent} of ${length} bytes announced`);
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const target = this.target;
      const settle = (closed: boolean): void => {
        target.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (closed) reject(new ConnectionClosedError());
        else resolve();
      };
      const onDrain = (): void => settle(false);
      const onClose = (): void => settle(true);
      target.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }
}
