"""A tansu of a test's own (memory storage) that advertises a front instead of itself, so that
every client connection, bootstrap and advertised, goes through the front: `Front` forwards
the bytes on 127.0.0.1 and can terminate TLS (recording the protocol agreed on) or hold back
the broker's answers (a slow broker, a busy machine)."""

import asyncio
import contextlib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TANSU = ROOT / ".local" / "bin" / "tansu"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Front:
    """127.0.0.1:`port` to 127.0.0.1:`backend`, TLS if a `context` is given, each piece of the
    broker's answers arriving `delay` seconds late; runs in a thread of its own."""

    def __init__(self, port: int, backend: int, context: ssl.SSLContext | None = None, delay: float = 0.0):
        self.port, self.backend, self.context, self.delay = port, backend, context, delay
        self.sessions = []  # (protocol, cipher) of each accepted TLS connection
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _pipe(self, reader, writer, delay=0.0):
        """Bytes from `reader` to `writer`, each piece written `delay` after it arrived: a
        latency, the pieces still flowing one after another as they came."""
        pieces = asyncio.Queue()

        async def write():
            while (piece := await pieces.get()) is not None:
                arrived, data = piece
                await asyncio.sleep(max(0.0, arrived + delay - self.loop.time()))
                writer.write(data)
                await writer.drain()

        writing = asyncio.ensure_future(write())
        try:
            while data := await reader.read(65536):
                pieces.put_nowait((self.loop.time(), data))
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            pieces.put_nowait(None)
            try:
                await writing
            except (ConnectionError, ssl.SSLError):
                pass
            writer.close()

    async def _serve(self, client_reader, client_writer):
        if self.context is not None:
            tls = client_writer.get_extra_info("ssl_object")
            self.sessions.append((tls.version(), tls.cipher()[0]))
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(self._pipe(client_reader, broker_writer),
                                 self._pipe(broker_reader, client_writer, self.delay))
        except asyncio.CancelledError:
            pass  # the front is closing

    def __enter__(self):
        self.thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)
        return self

    async def _close(self):
        self.server.close()
        connections = asyncio.all_tasks() - {asyncio.current_task()}
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def wait_for_port(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"tansu exited with {process.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"tansu did not listen on 127.0.0.1:{port} within {timeout} s")


@contextlib.contextmanager
def broker_behind_front(log: Path, context: ssl.SSLContext | None = None, delay: float = 0.0):
    """A tansu reachable only through a `Front(context, delay)`; yields (bootstrap, front).
    tansu's output goes to `log`."""
    broker_port, front_port = free_port(), free_port()
    with open(log, "wb") as out:
        broker = subprocess.Popen(
            [TANSU, "broker", "--storage-engine", "memory://tansu/",
             "--listener-url", f"tcp://127.0.0.1:{broker_port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{front_port}"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(broker_port, broker)
        with Front(front_port, broker_port, context, delay) as front:
            yield f"127.0.0.1:{front_port}", front
    finally:
        broker.terminate()
        broker.wait(15)
