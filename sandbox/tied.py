"""Make a process die with its parent, even when the parent is SIGKILLed.

Used as a module by moto_server.py, and as a wrapper for servers we cannot change:

    python3 sandbox/tied.py redis-server --port 6380 ...

Linux only (prctl PR_SET_PDEATHSIG, which survives exec); elsewhere it is a no-op and
the launcher's exit handlers are the only guard.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def tie_to_parent() -> None:
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


if __name__ == "__main__":
    tie_to_parent()
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except FileNotFoundError:
        print(f"cct sandbox: command not found: {sys.argv[1]}", file=sys.stderr)
        sys.exit(127)
