"""Lambda Invoke runs the function's code on this machine, in containers like Lambda's.

moto 5.2.1 runs Invoke in Docker (there is none here). This module answers
`POST /2015-03-31/functions/<name or ARN>/invocations` itself, outside core.lock (a
function may run for minutes; other requests, including the function's own calls to the
sandbox, must go on meanwhile). The lock is taken only to read the function from moto's
backend and to write logs and metrics afterwards.

What it models (AWS Lambda Developer Guide: "Lambda execution environment lifecycle",
"Invoke", "Working with Lambda function logs", "Lambda function metrics"):
- An execution environment ("container") per function configuration: the zip unpacked as
  the task root, every layer unpacked in order into one /opt (a later layer's file wins).
  It serves one invocation at a time; concurrent invocations get more containers; any
  code or configuration change (CodeSha256, env, layers, runtime, handler, memory,
  timeout, VpcConfig) means new containers (cold starts). Between invocations Lambda
  freezes the environment: here its process group gets SIGSTOP, and SIGCONT to thaw, so
  open sockets age as they do on AWS. Idle containers are reaped after
  containerIdleSeconds.
- RequestResponse (200), Event (202, runs in the background), DryRun (204, nothing runs);
  `X-Amz-Log-Type: Tail` gives the last 4 KB of the invocation's log; an error is
  `X-Amz-Function-Error: Unhandled` with {"errorMessage","errorType","stackTrace"}; the
  Timeout kills the container and answers "<ts> <requestId> Task timed out after N.00
  seconds"; ReservedConcurrentExecutions throttles (429).
- Logs: START/END/REPORT lines around the function's stdout/stderr, in CloudWatch Logs
  /aws/lambda/<name>, one stream per container named as Lambda names them. Metrics:
  AWS/Lambda Invocations, Errors, Duration, Throttles, ConcurrentExecutions; EMF lines in
  the log become metrics as CloudWatch Logs makes them.

Containers are processes (sandbox/runtime/<python|node>/bootstrap) speaking JSON lines on
fd 3 (sandbox/README.md). Each runs in its own process group; a guardian process kills
every group (frozen ones too) and removes the work dirs when the server exits, however it
exits: the guardian's stdin is a pipe from this process, so it sees EOF even on SIGKILL.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
import math
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from . import core, iam_auth

ROUTE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
RUNTIME_DIR = Path(__file__).resolve().parent.parent / "runtime"
REPO_NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
# What Lambda's Node.js runtime ships in /var/runtime/node_modules that cct functions use.
PROVIDED_NODE_PACKAGES = ("@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb")
EMPTY_NETWORK: dict[str, Any] = {"hosts": {}, "routes": {}, "defaultHost": None, "tarpit": None}
TAIL_BYTES = 4096
# Lambda's init phase may take up to 10 s before the invocation's own timeout applies.
INIT_LIMIT_S = 10.0
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIASANDBOXEXAMPLE00",
    "AWS_SECRET_ACCESS_KEY": "sandbox/secret/not-a-real-key/000000000000",
    "AWS_SESSION_TOKEN": "sandbox-session-token",
}


# ---------------------------------------------------------------------------
# What one invocation needs from moto, read under the lock
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    account_id: str
    region: str
    name: str
    version: str  # "$LATEST" or "1", "2", ...
    arn: str
    runtime: str
    handler: str
    memory: int
    timeout: int
    env: dict[str, str]
    code: bytes
    layers: tuple[tuple[str, bytes], ...]
    config: dict[str, Any]  # GetFunctionConfiguration's answer, for network.py
    reserved_concurrency: int | None

    @property
    def key(self) -> str:
        """Containers are shared only by invocations of the very same configuration."""
        c = self.config
        parts = [self.arn, self.version, c.get("CodeSha256"), self.env, [a for a, _ in self.layers], self.runtime,
                 self.handler, self.memory, self.timeout, c.get("VpcConfig")]
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class InvokeError(Exception):
    """An error Lambda's API answers (not the function's): status, type, message."""

    def __init__(self, status: str, error_type: str, message: str, extra: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.error_type, self.extra = status, error_type, extra or {}


def _request_account_region(environ: dict[str, Any]) -> tuple[str, str]:
    """The caller's account and region as moto derives them: the SigV4 credential scope."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    found = re.search(r"Credential=([^/]+)/\d+/([^/]+)/", auth)
    if not found:
        return "123456789012", "us-east-1"
    from moto.iam.models import get_account_id_from

    return get_account_id_from(found.group(1)), found.group(2)


def _read_function(account_id: str, region: str, name: str, qualifier: str | None) -> Function:
    """Call with core.lock held."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[account_id][region]
    try:
        fn = backend.get_function(name, qualifier)
    except UnknownFunctionException as e:
        raise InvokeError("404 Not Found", "ResourceNotFoundException", e.message) from None
    layers = []
    for layer in fn.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        layers.append((layer["Arn"], version.code_bytes if version else b""))
    config = fn.get_configuration()
    version = str(fn.version)
    return Function(
        account_id=account_id, region=region, name=fn.function_name,
        version="$LATEST" if version.lower() in ("$latest", "latest") else version,
        arn=fn.function_arn, runtime=fn.run_time or "", handler=fn.handler or "", memory=int(fn.memory_size),
        timeout=int(fn.timeout), env={k: str(v) for k, v in (fn.environment_vars or {}).items()},
        code=fn.code_bytes or b"", layers=tuple(layers), config=config,
        reserved_concurrency=fn.reserved_concurrency,
    )


def _network_table(fn: Function) -> dict[str, Any]:
    """What the function's VPC lets it reach (network.py). Call with core.lock held."""
    try:
        from . import network
    except ImportError:
        return dict(EMPTY_NETWORK)
    compute = getattr(network, "function_network", None)
    return compute(fn.account_id, fn.region, fn.config) if compute else dict(EMPTY_NETWORK)


def _trust_env() -> dict[str, str]:
    """The sandbox CA, trusted inside the function as Lambda trusts Amazon's (certs.py)."""
    try:
        from . import certs
    except ImportError:
        return {}
    return certs.trust_env() if hasattr(certs, "trust_env") else {}


# ---------------------------------------------------------------------------
# The guardian: containers die with the server
# ---------------------------------------------------------------------------

_GUARDIAN = r"""
import os, shutil, signal, sys
groups = set()
for line in sys.stdin:
    op, _, arg = line.strip().partition(" ")
    if op == "+": groups.add(int(arg))
    elif op == "-": groups.discard(int(arg))
for pgid in groups:
    try: os.killpg(pgid, signal.SIGKILL)
    except OSError: pass
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


class Guardian:
    """A process, in its own session so ^C reaches it only through us, that SIGKILLs every
    container group when our end of its stdin closes (we exited, by any means)."""

    def __init__(self, base: Path):
        self._proc = subprocess.Popen([sys.executable, "-c", _GUARDIAN, str(base)], stdin=subprocess.PIPE,
                                      start_new_session=True, close_fds=True)
        self._lock = threading.Lock()

    def tell(self, line: str) -> None:
        with self._lock:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(f"{line}\n".encode())
                self._proc.stdin.flush()
            except (OSError, ValueError):
                pass


# ---------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------


def _unzip(data: bytes, dest: Path) -> None:
    """Unpack as Lambda does, keeping the zip's Unix permissions (an exec wrapper must stay
    executable); a later archive overwrites an earlier one's files."""
    if not data:
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            target = (dest / info.filename).resolve()
            if not str(target).startswith(str(dest.resolve())):
                continue  # "../" entries stay out, as Lambda's unpacking refuses them
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            with archive.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, mode if mode else 0o644)


def _log_stream_name(version: str) -> str:
    """Lambda's stream name: 2024/05/01/[$LATEST]<32 hex>, one per execution environment."""
    today = datetime.datetime.now(datetime.timezone.utc)
    return f"{today:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"


def _runtime_command(runtime: str) -> list[str]:
    if runtime.startswith("python3"):
        return [sys.executable, str(RUNTIME_DIR / "python" / "bootstrap.py")]
    if runtime.startswith("nodejs"):
        return [os.environ.get("CCT_SANDBOX_NODE") or shutil.which("node") or "node",
                str(RUNTIME_DIR / "node" / "bootstrap.mjs")]
    raise InvokeError("502 Bad Gateway", "InvalidRuntimeException",
                      f"The runtime parameter of {runtime} is not supported by the sandbox")


def _node_major(runtime: str) -> str:
    found = re.match(r"nodejs(\d+)", runtime)
    return found.group(1) if found else "22"


def _lambda_env(fn: Function, task: Path, opt: Path, stream: str, runtime_dir: Path) -> dict[str, str]:
    """What Lambda puts in the environment: some defaults the function may override, its
    own variables, then the reserved ones it may not ("Defined runtime environment
    variables"). Nothing of the sandbox's own environment (AWS_ENDPOINT_URL) leaks in."""
    env = {
        "PATH": f"{opt}/bin:{os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin')}",
        "LD_LIBRARY_PATH": f"{opt}/lib",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
    }
    if fn.runtime.startswith("nodejs"):
        major = _node_major(fn.runtime)
        env["NODE_PATH"] = ":".join([f"{opt}/nodejs/node{major}/node_modules", f"{opt}/nodejs/node_modules",
                                     f"{runtime_dir}/node_modules", str(runtime_dir), str(task)])
    env.update(_trust_env())
    env.update(fn.env)
    env.update({
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
        "_HANDLER": fn.handler,
        "LAMBDA_TASK_ROOT": str(task),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "CCT_LAMBDA_OPT": str(opt),  # where "/opt" is here; the runtimes read layer paths from it
        **DUMMY_CREDENTIALS,
    })
    return env


@dataclass(eq=False)  # identity: a container is a process
class Container:
    fn: Function
    pid: int
    control: socket.socket
    output: int  # read end of the stdout+stderr pipe
    workdir: Path
    stream: str
    busy: bool = True
    frozen: bool = False
    dead: bool = False
    last_used: float = field(default_factory=time.monotonic)
    pending: bytes = b""  # a partial output line
    control_buffer: bytes = b""
    init_error: dict[str, Any] | None = None
    closed: bool = False

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except OSError:
            pass

    def max_memory_mb(self) -> int:
        """VmHWM (peak resident set) of the runtime process, as Lambda's Max Memory Used."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return math.ceil(int(line.split()[1]) / 1024)
        except OSError:
            pass
        return 0


class Pool:
    """Every live container; idle ones by configuration key. A container belongs either to
    the idle lists (and may be taken or reaped) or to the one request thread using it
    (which alone closes its descriptors)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[str, list[Container]] = {}
        self.all: set[Container] = set()
        self.running: dict[str, int] = {}  # function ARN -> invocations admitted and not yet answered
        self._base: Path | None = None
        self._guardian: Guardian | None = None
        self._reaper: threading.Thread | None = None

    def base(self) -> Path:
        with self.lock:
            if self._base is None:
                self._base = Path(tempfile.mkdtemp(prefix="cct-lambda-", dir=_isolated_tmp()))
                self._guardian = Guardian(self._base)
                _build_node_runtime_dir(self._base / "runtime")
            return self._base

    def guardian(self) -> Guardian:
        self.base()
        assert self._guardian is not None
        return self._guardian

    def acquire(self, key: str) -> Container | None:
        with self.lock:
            idle = self.idle.get(key, [])
            while idle:
                container = idle.pop()
                if not container.dead:
                    container.busy = True
                    return container
            return None

    def admit(self, fn: Function) -> int | None:
        """Count an invocation of fn as running from the moment it is accepted, and refuse it
        (None) when its reserved concurrency is used up; else how many now run, this one
        included. Checking and counting are one step under the lock: checked apart, two
        requests arriving together both see the other not yet counted (a cold start counts
        only once its container is spawned), and neither is throttled."""
        with self.lock:
            running = self.running.get(fn.arn, 0)
            if fn.reserved_concurrency is not None and running >= int(fn.reserved_concurrency):
                return None
            self.running[fn.arn] = running + 1
            return running + 1

    def leave(self, fn: Function) -> None:
        with self.lock:
            self.running[fn.arn] -= 1
            if not self.running[fn.arn]:
                del self.running[fn.arn]

    def add(self, container: Container) -> None:
        with self.lock:
            self.all.add(container)
        self._ensure_reaper()

    def release(self, container: Container) -> None:
        with self.lock:
            container.busy = False
            container.last_used = time.monotonic()
            if not container.dead:
                self.idle.setdefault(container.fn.key, []).append(container)
                return
        self.discard(container)  # killed by a reset while it ran

    def discard(self, container: Container) -> None:
        """Destroy a container the caller owns (taken from the idle lists, or its own)."""
        with self.lock:
            self.all.discard(container)
        _destroy(container)

    def _take_idle(self, wanted: Any) -> list[Container]:
        with self.lock:
            taken = []
            for key, idle in self.idle.items():
                keep = [c for c in idle if not wanted(c)]
                taken += [c for c in idle if wanted(c)]
                self.idle[key] = keep
            return taken

    def reap(self, idle_seconds: float) -> None:
        now = time.monotonic()
        for container in self._take_idle(lambda c: now - c.last_used >= idle_seconds):
            self.discard(container)

    def kill_all(self) -> None:
        """Idle containers go at once; a running one is killed, and its request thread
        (which sees the runtime exit) cleans it up."""
        for container in self._take_idle(lambda c: True):
            self.discard(container)
        with self.lock:
            running = [c for c in self.all if c.busy]
        for container in running:
            container.dead = True
            container.signal_group(signal.SIGKILL)

    def _ensure_reaper(self) -> None:
        with self.lock:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(target=self._reap_forever, name="cct-lambda-reaper", daemon=True)
            self._reaper.start()

    def _reap_forever(self) -> None:
        while True:
            idle_seconds = float(core.config.get("containerIdleSeconds", 300.0))
            time.sleep(max(0.05, min(1.0, idle_seconds / 4)))
            self.reap(idle_seconds)


_pool = Pool()


def _isolated_tmp() -> str:
    """A temp folder with no node_modules above it: Node looks for packages in every parent
    of the task root, and on Lambda nothing is there (a stray /tmp/node_modules would let
    functions import what Lambda would not give them)."""
    for candidate in (tempfile.gettempdir(), "/dev/shm", "/var/tmp"):
        where = Path(candidate)
        if where.is_dir() and os.access(where, os.W_OK) and \
                not any((d / "node_modules").exists() for d in (where, *where.parents)):
            return str(where)
    return tempfile.gettempdir()


def _build_node_runtime_dir(runtime_dir: Path) -> None:
    """/var/runtime as Lambda's Node.js runtime has it: the AWS SDK for JavaScript v3 (the
    parts cct functions use) and nothing else of this repository."""
    for package in PROVIDED_NODE_PACKAGES:
        source = REPO_NODE_MODULES / package
        link = runtime_dir / "node_modules" / package
        link.parent.mkdir(parents=True, exist_ok=True)
        if source.exists() and not link.exists():
            link.symlink_to(source, target_is_directory=True)


def _destroy(container: Container) -> None:
    """Kill the whole process group (SIGKILL reaches a stopped process), reap, clean up."""
    if container.closed:
        return
    container.closed = container.dead = True
    container.signal_group(signal.SIGKILL)
    container.signal_group(signal.SIGCONT)
    try:
        os.waitpid(container.pid, 0)
    except ChildProcessError:
        pass
    _pool.guardian().tell(f"- {container.pid}")
    for closer in (container.control.close, lambda: os.close(container.output)):
        try:
            closer()
        except OSError:
            pass
    shutil.rmtree(container.workdir, ignore_errors=True)


def _wrapper_path(wrapper: str, opt: Path) -> str:
    """AWS_LAMBDA_EXEC_WRAPPER names a path in the environment; layers live in /opt, which
    here is the container's own opt folder."""
    if wrapper == "/opt" or wrapper.startswith("/opt/"):
        return str(opt) + wrapper[len("/opt"):]
    return wrapper


def _spawn(fn: Function) -> Container:
    """A new container: unpack code and layers, start the runtime in its own process group
    with the control socket as fd 3 and stdout+stderr into one pipe (their order kept)."""
    base = _pool.base()
    workdir = Path(tempfile.mkdtemp(prefix=f"{fn.name[:40]}-", dir=base))
    task, opt = workdir / "task", workdir / "opt"
    task.mkdir()
    opt.mkdir()
    _unzip(fn.code, task)
    for _, layer in fn.layers:
        _unzip(layer, opt)
    stream = _log_stream_name(fn.version)
    env = _lambda_env(fn, task, opt, stream, base / "runtime")
    command = _runtime_command(fn.runtime)
    wrapper = env.get("AWS_LAMBDA_EXEC_WRAPPER")
    if wrapper:
        command = [_wrapper_path(wrapper, opt), *command]
    ours, theirs = socket.socketpair()
    out_r, out_w = os.pipe()
    # The runtime starts in the task root, as Lambda's does (posix_spawn cannot chdir).
    argv = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', str(task), *command]
    try:
        pid = os.posix_spawn("/bin/sh", argv, env, setpgroup=0, file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, out_w, 2),
            (os.POSIX_SPAWN_DUP2, theirs.fileno(), 3),
        ])
    finally:
        os.close(out_w)
        theirs.close()
    _pool.guardian().tell(f"+ {pid}")
    os.set_blocking(out_r, False)
    container = Container(fn=fn, pid=pid, control=ours, output=out_r, workdir=workdir, stream=stream)
    _pool.add(container)
    return container


# ---------------------------------------------------------------------------
# One invocation
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    request_id: str
    payload: bytes
    error: bool
    log: list[tuple[int, str]]  # (epoch ms, line)
    duration_ms: float
    init_ms: float | None
    container: Container | None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


def _drain_output(container: Container, log: list[tuple[int, str]], final: bool = False) -> None:
    """Move what the container wrote to the log, line by line."""
    while True:
        try:
            chunk = os.read(container.output, 65536)
        except BlockingIOError:
            break
        except OSError:
            break
        if not chunk:
            final = True
            break
        container.pending += chunk
    *lines, container.pending = container.pending.split(b"\n")
    stamp = _now_ms()
    for line in lines:
        log.append((stamp, line.decode("utf-8", "replace")))
    if final and container.pending:
        log.append((stamp, container.pending.decode("utf-8", "replace")))
        container.pending = b""


def _await_message(container: Container, deadline: float, log: list[tuple[int, str]]) -> dict[str, Any] | None:
    """The container's next control message, reading its output meanwhile; None when it
    exits or the deadline passes."""
    with selectors.DefaultSelector() as selector:
        selector.register(container.control, selectors.EVENT_READ, "control")
        selector.register(container.output, selectors.EVENT_READ, "output")
        while True:
            if b"\n" in container.control_buffer:
                line, container.control_buffer = container.control_buffer.split(b"\n", 1)
                if line.strip():
                    _drain_output(container, log)  # what it printed before answering comes first
                    return json.loads(line)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for key, _ in selector.select(timeout=left):
                if key.data == "output":
                    _drain_output(container, log)
                    continue
                chunk = container.control.recv(65536)
                if not chunk:
                    _drain_output(container, log, final=True)
                    return None
                container.control_buffer += chunk


def _start_container(fn: Function, log: list[tuple[int, str]]) -> tuple[Container, float]:
    """Cold start: spawn and wait for the runtime's "ready" (its init), at most 10 s or the
    function's timeout, whichever is longer."""
    started = time.monotonic()
    container = _spawn(fn)
    message = _await_message(container, started + max(INIT_LIMIT_S, fn.timeout), log)
    init_ms = (time.monotonic() - started) * 1000
    if message is None or message.get("type") != "ready":
        container.init_error = message if message and message.get("type") == "error" else {
            "errorType": "Runtime.ExitError",
            "errorMessage": "Runtime exited without providing a reason",
        }
    return container, init_ms


def _error_payload(fn: Function, message: dict[str, Any]) -> bytes:
    """The payload of an Unhandled error as each runtime writes it: Node.js
    {"errorType","errorMessage","trace"}, Python {"errorMessage","errorType","requestId",
    "stackTrace"}; a sandbox-made error (a timeout) has only what Lambda gives it."""
    if "stackTrace" not in message:
        return json.dumps({k: v for k, v in message.items() if k in ("errorType", "errorMessage")}).encode()
    if fn.runtime.startswith("nodejs"):
        body = {"errorType": message.get("errorType", "Error"), "errorMessage": message.get("errorMessage", ""),
                "trace": message.get("stackTrace", [])}
    else:
        body = {"errorMessage": message.get("errorMessage", ""), "errorType": message.get("errorType", "Exception"),
                "requestId": message.get("requestId") or "", "stackTrace": message.get("stackTrace", [])}
    return json.dumps(body).encode()


def run(fn: Function, event: bytes, network: dict[str, Any]) -> Outcome:
    """Run one invocation in a warm container of fn's configuration, or a new one."""
    request_id = str(uuid.uuid4())
    log: list[tuple[int, str]] = []
    container = _pool.acquire(fn.key)
    init_ms: float | None = None
    if container is None:
        container, init_ms = _start_container(fn, log)
    log.append((_now_ms(), f"START RequestId: {request_id} Version: {fn.version}"))
    started = time.monotonic()
    if container.init_error is not None:
        _pool.discard(container)
        return _finish(fn, request_id, _error_payload(fn, container.init_error), True, log, started, init_ms, None)
    if container.frozen:
        container.signal_group(signal.SIGCONT)
        container.frozen = False
    deadline = started + fn.timeout
    try:
        container.control.sendall(json.dumps({
            "type": "invoke", "requestId": request_id, "event": event.decode("utf-8", "replace"),
            "deadlineMs": _now_ms() + fn.timeout * 1000, "network": network, "invokedFunctionArn": fn.arn,
        }).encode() + b"\n")
        message = _await_message(container, deadline, log)
    except OSError:
        message = None
    if message is None or message.get("requestId") != request_id:
        return _failed(fn, container, request_id, log, started, init_ms)
    error = message.get("type") == "error"
    payload = _error_payload(fn, message) if error else str(message.get("payload", "null")).encode()
    return _finish(fn, request_id, payload, error, log, started, init_ms, container)


def _failed(fn: Function, container: Container, request_id: str, log: list[tuple[int, str]], started: float,
            init_ms: float | None) -> Outcome:
    """Timed out (the deadline passed) or the runtime died: the container is gone."""
    timed_out = time.monotonic() >= started + fn.timeout
    _drain_output(container, log, final=True)
    _pool.discard(container)
    if timed_out:
        text = f"{_iso(_now_ms())} {request_id} Task timed out after {fn.timeout:.2f} seconds"
        outcome = _finish(fn, request_id, json.dumps({"errorMessage": text}).encode(), True, log, started, init_ms,
                          None)
        outcome.log.append((_now_ms(), text))
        return outcome
    message = {"errorType": "Runtime.ExitError",
               "errorMessage": f"RequestId: {request_id} Error: Runtime exited without providing a reason"}
    return _finish(fn, request_id, _error_payload(fn, message), True, log, started, init_ms, None)


def _finish(fn: Function, request_id: str, payload: bytes, error: bool, log: list[tuple[int, str]], started: float,
            init_ms: float | None, container: Container | None) -> Outcome:
    duration = (time.monotonic() - started) * 1000
    memory = container.max_memory_mb() if container else 0
    if container is not None:
        container.signal_group(signal.SIGSTOP)  # frozen until the next invocation
        container.frozen = True
    log.append((_now_ms(), f"END RequestId: {request_id}"))
    # Billed: rounded up to the ms; since August 2025 the init phase is billed too.
    billed = math.ceil(duration + (init_ms or 0))
    report = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms\t"
              f"Memory Size: {fn.memory} MB\tMax Memory Used: {memory} MB\t")
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    log.append((_now_ms(), report))
    return Outcome(request_id, payload, error, log, duration, init_ms, container)


# ---------------------------------------------------------------------------
# Logs and metrics (under the lock)
# ---------------------------------------------------------------------------


def _record(fn: Function, outcome: Outcome, stream: str, concurrent: int) -> None:
    from moto.logs.models import logs_backends

    logs = logs_backends[fn.account_id][fn.region]
    group = f"/aws/lambda/{fn.name}"
    if group not in logs.groups:
        logs.create_log_group(group, {})
    if stream not in logs.groups[group].streams:
        logs.create_log_stream(group, stream)
    events = [{"timestamp": ms, "message": line} for ms, line in outcome.log]
    if events:
        logs.put_log_events(group, stream, events)
    dims = [{"FunctionName": fn.name}]
    if fn.version != "$LATEST":
        dims.append({"FunctionName": fn.name, "Resource": f"{fn.name}:{fn.version}"})
    for d in dims:
        core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "Invocations", d, 1, "Count")
        core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "Errors", d, 1 if outcome.error else 0, "Count")
        core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "Duration", d, outcome.duration_ms, "Milliseconds")
        core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "Throttles", d, 0, "Count")
        core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "ConcurrentExecutions", d, concurrent, "Count")
    core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "ConcurrentExecutions", {}, concurrent, "Count")
    for _, line in outcome.log:
        emf_metrics(fn.account_id, fn.region, line)


def emf_metrics(account_id: str, region: str, line: str) -> int:
    """Publish the metrics of one Embedded Metric Format log line, as CloudWatch Logs
    does; returns how many datapoints. A line is EMF when it is a JSON object carrying
    _aws.CloudWatchMetrics; Lambda's console prefix (timestamp, request id, level) before
    it is tolerated. Anything else is just a log line."""
    start = line.find("{")
    if start < 0 or "_aws" not in line:
        return 0
    try:
        doc = json.loads(line[start:])
        directives = doc["_aws"]["CloudWatchMetrics"]
        stamp = datetime.datetime.fromtimestamp(doc["_aws"].get("Timestamp", _now_ms()) / 1000,
                                                datetime.timezone.utc)
    except (ValueError, KeyError, TypeError):
        return 0
    count = 0
    for directive in directives if isinstance(directives, list) else []:
        namespace = directive.get("Namespace", "aws-embedded-metrics")
        for names in directive.get("Dimensions", [[]]) or [[]]:
            dims = {n: str(doc[n]) for n in names if n in doc}
            if len(dims) != len(names):
                continue  # a dimension without a value: CloudWatch drops that set
            for metric in directive.get("Metrics", []):
                value = doc.get(metric.get("Name"))
                values = value if isinstance(value, list) else [value]
                for v in values:
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        core.put_metric(account_id, region, namespace, metric["Name"], dims, v,
                                        metric.get("Unit", "None"), stamp)
                        count += 1
    return count


def _throttle(fn: Function) -> NoReturn:
    with core.lock:
        core.put_metric(fn.account_id, fn.region, "AWS/Lambda", "Throttles", {"FunctionName": fn.name}, 1, "Count")
    raise InvokeError("429 Too Many Requests", "TooManyRequestsException", "Rate Exceeded.",
                      {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})


def invoke(fn: Function, event: bytes, network: dict[str, Any]) -> Outcome:
    """Run and record one invocation (any thread, not holding the lock)."""
    concurrent = _pool.admit(fn)
    if concurrent is None:
        _throttle(fn)
    try:
        outcome = run(fn, event, network)
        stream = outcome.container.stream if outcome.container else _log_stream_name(fn.version)
        if outcome.container is not None:
            _pool.release(outcome.container)
    finally:
        _pool.leave(fn)
    with core.lock:
        _record(fn, outcome, stream, concurrent)
    return outcome


# ---------------------------------------------------------------------------
# The HTTP side
# ---------------------------------------------------------------------------


def _query(environ: dict[str, Any]) -> dict[str, str]:
    from urllib.parse import parse_qs

    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _answer(start_response: Any, status: str, body: bytes, headers: dict[str, str]) -> list[bytes]:
    out = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
           ("x-amzn-RequestId", headers.pop("x-amzn-RequestId", str(uuid.uuid4())))]
    start_response(status, out + list(headers.items()))
    return [body]


def _api_error(start_response: Any, e: InvokeError) -> list[bytes]:
    """Lambda's error shape: x-amzn-ErrorType names it; body {"Type": "User", "message"}."""
    body = json.dumps({"Type": "User", "message": str(e), **e.extra}).encode()
    return _answer(start_response, e.status, body, {"x-amzn-ErrorType": e.error_type})


def route(environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
    found = ROUTE.match(environ.get("PATH_INFO", ""))
    if not found or environ.get("REQUEST_METHOD") != "POST":
        return None
    size = int(environ.get("CONTENT_LENGTH") or 0)
    event = environ["wsgi.input"].read(size) if size else b""
    kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
    denied = iam_auth.authorize(environ, "lambda:InvokeFunction")
    if denied:
        return _api_error(start_response, InvokeError(denied[0], denied[1], denied[2]))
    try:
        account_id, region = _request_account_region(environ)
        with core.lock:
            fn = _read_function(account_id, region, found.group("name"), _query(environ).get("Qualifier"))
            network = _network_table(fn)
        if kind == "DryRun":
            return _answer(start_response, "204 No Content", b"", {})
        if kind == "Event":
            threading.Thread(target=_background, args=(fn, event or b"{}", network), daemon=True).start()
            return _answer(start_response, "202 Accepted", b"", {})
        if kind != "RequestResponse":
            raise InvokeError("400 Bad Request", "InvalidParameterValueException",
                              f"Unsupported invocation type {kind}")
        outcome = invoke(fn, event or b"{}", network)
    except InvokeError as e:
        return _api_error(start_response, e)
    headers = {"X-Amz-Executed-Version": fn.version, "x-amzn-RequestId": outcome.request_id}
    if outcome.error:
        headers["X-Amz-Function-Error"] = "Unhandled"
    if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
        text = "".join(f"{line}\n" for _, line in outcome.log).encode()
        headers["X-Amz-Log-Result"] = base64.b64encode(text[-TAIL_BYTES:]).decode()
    return _answer(start_response, "200 OK", outcome.payload, headers)


def _background(fn: Function, event: bytes, network: dict[str, Any]) -> None:
    try:
        invoke(fn, event, network)
    except InvokeError:
        pass  # throttled: Lambda's queue would retry; the sandbox drops it (documented)


def patch() -> None:
    """Nothing of moto's to patch: Invoke is answered by route() before moto sees it."""


def on_reset() -> None:
    """POST /moto-api/reset: every function is gone, so are its containers."""
    _pool.kill_all()
