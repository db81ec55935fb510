import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { errorMessage } from '../../core/errors';
import { ConnectionClosedError, ResponseStreamError } from './errors';

/** Writes responses to the socket, waiting for `drain` when the peer reads slower than we write. */
export class ResponseWriter {
  constructor(private readonly socket: Socket) {}

  get closed(): boolean {
    return this.socket.destroyed || this.socket.writableEnded;
  }

  /** Throws ConnectionClosedError when the peer is gone. */
  async write(data: string | Buffer): Promise<void> {
    if (this.closed) throw new ConnectionClosedError();
    if (!this.socket.write(data)) await this.drained();
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
      const settle = (closed: boolean): void => {
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (closed) reject(new ConnectionClosedError());
        else resolve();
      };
      const onDrain = (): void => settle(false);
      const onClose = (): void => settle(true);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }
}
