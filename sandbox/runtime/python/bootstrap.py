"""Lambda's Python runtime, in the sandbox: one execution environment.

Started by sandbox/fidelity/invoke.py (maybe through AWS_LAMBDA_EXEC_WRAPPER) in the task
root, with the control socket as fd 3 (JSON lines, sandbox/README.md). It loads the
network hook, then the handler (_HANDLER "dir/module.function", as Lambda reads it), says
"ready", and serves one invocation at a time until the sandbox kills it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import socket
import sys
import time
import traceback
from types import ModuleType
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_network() -> ModuleType:
    """Under a private name, so a function's own `network` module is not shadowed."""
    spec = importlib.util.spec_from_file_location("_cct_sandbox_network", os.path.join(HERE, "network.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    return module


def _set_sys_path() -> None:
    """Lambda's search path: the task root, then the layers' python/lib/pythonX.Y/site-packages
    and python, then the runtime's own libraries (boto3). Not this bootstrap's folder."""
    opt = os.environ.get("CCT_LAMBDA_OPT", "/opt")
    version = os.environ.get("AWS_EXECUTION_ENV", "").replace("AWS_Lambda_python", "") or \
        f"{sys.version_info.major}.{sys.version_info.minor}"
    first = [os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()), f"{opt}/python/lib/python{version}/site-packages",
             f"{opt}/python"]
    sys.path[:] = first + [p for p in sys.path if p not in first and os.path.abspath(p or ".") != HERE]


class Context:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, message: dict[str, Any]):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = message.get("invokedFunctionArn", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = message["requestId"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(message["deadlineMs"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _RequestIdFilter.request_id
        return True


def _configure_logging() -> None:
    """Lambda's root logger handler: "[LEVEL]\\t<ISO time>\\t<request id>\\t<message>"."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                           "%Y-%m-%dT%H:%M:%S"))
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if os.path.abspath(f.filename) != os.path.abspath(__file__)]
    return {"type": "error", "errorType": error_type or type(exc).__name__,
            "errorMessage": str(exc) if message is None else message, "stackTrace": traceback.format_list(user)}


def _load_handler(spec: str) -> Callable[..., Any]:
    """"dir/module.function": the module is imported from the task root by its dotted path."""
    path, _, function = spec.rpartition(".")
    if not path:
        raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack "
                         "(expected 2, got 1)")
    module_name = path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        raise _InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}") from e
    except ImportError as e:
        raise _InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}") from e
    handler = getattr(module, function, None)
    if handler is None:
        raise _InitError("Runtime.HandlerNotFound", f"Handler '{function}' missing on module '{module_name}'")
    return handler


class _InitError(Exception):
    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    control.sendall(json.dumps(message).encode() + b"\n")


def _invoke(handler: Callable[..., Any], message: dict[str, Any], network: ModuleType) -> dict[str, Any]:
    network.apply(message.get("network"))
    _RequestIdFilter.request_id = message["requestId"]
    try:
        result = handler(json.loads(message.get("event") or "null"), Context(message))
    except Exception as e:  # the function's error is the invocation's answer
        return {**_error(e), "requestId": message["requestId"]}
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as e:
        return {"type": "error", "requestId": message["requestId"], "errorType": "Runtime.MarshalError",
                "errorMessage": f"Unable to marshal response: {e}", "stackTrace": []}
    return {"type": "result", "requestId": message["requestId"], "payload": payload}


def main() -> None:
    control = socket.socket(fileno=3)
    network = _load_network()
    _set_sys_path()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    _configure_logging()
    started = time.monotonic()
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _InitError as e:
        _send(control, {**_error(e, e.error_type, str(e)), "stackTrace": []})
        sys.exit(1)
    except Exception as e:  # an error in the module's own init code
        _send(control, _error(e))
        sys.exit(1)
    _send(control, {"type": "ready", "initMs": round((time.monotonic() - started) * 1000, 2)})
    for line in control.makefile("rb"):
        message = json.loads(line)
        if message.get("type") == "invoke":
            _send(control, _invoke(handler, message, network))


if __name__ == "__main__":
    main()
