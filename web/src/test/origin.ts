/**
 * Test support for the web project (never imported by the app): a loopback HTTP server made the
 * test page's origin, so the client's same-origin requests reach a real server.
 */
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/** happy-dom's control of the page (vitest's happy-dom environment puts it on window). */
interface HappyDomWindow {
  happyDOM: { setURL(url: string): void };
}

export interface Origin {
  url: string;
  /** Stops listening and drops open connections: requests fail as with the server gone. */
  close(): Promise<void>;
}

export async function serveAsOrigin(handler: RequestListener): Promise<Origin> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  (window as unknown as HappyDomWindow).happyDOM.setURL(url);
  let closed: Promise<void> | null = null;
  return {
    url,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
