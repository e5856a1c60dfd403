"""A warm parent for attached sandboxes: moto and every service the sandbox serves are
imported once (about 3 s of CPU), then each sandbox is a fork() of this process.

    python3 sandbox/zygote.py /path/to/zygote.sock

A client (sandbox/launcher.ts) connects to the Unix socket and sends one JSON line:
{"port": 5000, "fidelity": {...}, "env": {...}, "cwd": "...", "log": "/path/moto.log"}.
The zygote forks a moto server for it and answers {"pid": N}. The forked server keeps the
client's connection: when the client closes it, or dies however it dies, the server sees
end of file and exits, as a --tied moto_server.py does when its parent dies.

The zygote exits after IDLE_SECONDS without a request. It forks from its only thread:
nothing is started (no thread, no server, no CA) before a fork, only imported.
"""

import json
import os
import select
import signal
import socket
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
IDLE_SECONDS = 60


def main() -> None:
    path = sys.argv[1]
    sys.path.insert(0, HERE)
    import moto_server

    moto_server.load(services=True)
    listener = listen(path)
    if listener is None:
        return  # another zygote answers on this path
    inode = os.stat(path).st_ino
    # Forked servers are reaped by the kernel: the zygote never waits on them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        while select.select([listener], [], [], IDLE_SECONDS)[0]:
            conn, _ = listener.accept()
            try:
                request = read_request(conn)
            except (OSError, ValueError) as e:
                print(f"cct sandbox zygote: bad request ({e})", file=sys.stderr, flush=True)
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                run_server(conn, request)  # never returns
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            conn.close()
    finally:
        unlink_if_ours(path, inode)


def listen(path: str) -> socket.socket | None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
    except OSError:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            return None
        except OSError:
            os.unlink(path)  # left by a zygote that was killed
            listener.bind(path)
        finally:
            probe.close()
    listener.listen(64)
    return listener


def read_request(conn: socket.socket) -> dict:
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("the client closed before its request ended")
        data += chunk
    conn.settimeout(None)
    return json.loads(data)


def run_server(conn: socket.socket, request: dict) -> None:
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server waits on its own children
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        # Read by moto at import, which happened in the zygote under its own environment.
        from moto import settings

        settings.INITIAL_NO_AUTH_ACTION_COUNT = float(os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT", "inf"))
        threading.Thread(target=exit_with_client, args=(conn,), name="cct-client-watch", daemon=True).start()
        import moto_server

        moto_server.serve("127.0.0.1", int(request["port"]), request.get("fidelity") or {})
    except BaseException as e:  # noqa: BLE001 - a forked child must never return into the zygote's loop
        print(f"cct sandbox: moto server failed: {e!r}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)


def exit_with_client(conn: socket.socket) -> None:
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass
    # The same end as a --tied server whose parent died: SIGTERM's default action, which
    # the cache nodes and function containers (tied to this process) follow.
    os.kill(os.getpid(), signal.SIGTERM)


def unlink_if_ours(path: str, inode: int) -> None:
    """A zygote started after this one went idle may have bound the path again."""
    try:
        if os.stat(path).st_ino == inode:
            os.unlink(path)
    except OSError:
        pass


if __name__ == "__main__":
    main()
