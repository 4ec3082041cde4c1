"""A slow network link for the tests: a TCP proxy that passes the client's bytes on at a fixed
rate (the server's answers unpaced), as hospital Wi-Fi would."""

import socket
import threading
import time

CHUNK = 16 * 1024


class ThrottlingProxy:
    """Listens on a free port; each connection is relayed to `upstream`, the client's bytes at
    `rate` bytes a second."""

    def __init__(self, upstream: tuple[str, int], rate: int):
        self.upstream, self.rate = upstream, rate
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._relay, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._relay, args=(server, client, False), daemon=True).start()

    def _relay(self, source, target, paced):
        started, sent = time.monotonic(), 0
        try:
            while data := source.recv(CHUNK):
                target.sendall(data)
                sent += len(data)
                if paced:  # sleep until `sent` bytes are due at the rate
                    time.sleep(max(0.0, started + sent / self.rate - time.monotonic()))
        except OSError:
            pass
        finally:
            for end in (target, source):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._stopped = True
        self.listener.close()
