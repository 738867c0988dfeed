/** A free TCP port for a subprocess that can't be told to pick its own. */
import net from "node:net";

/**
 * A port of 127.0.0.1 that was free a moment ago: the OS picks one for a
 * listener, which is closed at once. (Another process could take it in
 * between; the tests start theirs right away.)
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
