// One gateway connection's outbound side: plain JSON text frames, or zlib-stream (one Deflate per
// connection, Z_SYNC_FLUSH after each payload) when the client asked for compress=zlib-stream.
import { constants, createDeflate, type Deflate } from 'node:zlib';
import { WebSocket } from 'ws';

export class GatewaySocket {
  private readonly deflate: Deflate | undefined;
  // Compressed frames are produced asynchronously; the chain keeps them (and the close) in order.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ws: WebSocket,
    compress: boolean,
  ) {
    this.deflate = compress ? createDeflate() : undefined;
  }

  isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(payload: object): void {
    const text = JSON.stringify(payload);
    const deflate = this.deflate;
    if (deflate === undefined) {
      if (this.isOpen()) this.ws.send(text);
      return;
    }
    this.queue = this.queue
      .then(() => deflateFrame(deflate, text))
      .then((frame) => {
        if (this.isOpen()) this.ws.send(frame);
      });
  }

  close(code: number, reason: string): void {
    if (this.deflate === undefined) {
      this.ws.close(code, reason);
      return;
    }
    this.queue = this.queue.then(() => this.ws.close(code, reason));
  }

  terminate(): void {
    this.deflate?.destroy();
    this.ws.terminate();
  }
}

function deflateFrame(deflate: Deflate, text: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
    };
    deflate.on('data', onData);
    deflate.write(text);
    deflate.flush(constants.Z_SYNC_FLUSH, () => {
      deflate.off('data', onData);
      resolve(Buffer.concat(chunks));
    });
  });
}
