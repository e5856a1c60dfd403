"""Runs a seeded function's handler in this process, the way a Lambda container would
import it (task root and the layer's python/ on sys.path), for events read one JSON line
at a time from stdin; one JSON line out per event. The tests use it to exercise the
handlers against the sandbox's moto (AWS_ENDPOINT_URL) without going through Invoke.

usage: python3 run_handler.py <task root> <layer python dir>
"""
import json
import os
import sys
import time
import traceback

# The handler's prints are its log (stderr here); stdout carries only the answers.
answers = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

sys.path[:0] = [sys.argv[1], sys.argv[2]]
import index  # noqa: E402  (after the path is set, as Lambda's runtime does)


class Context:
    def __init__(self, timeout_seconds=10):
        self.deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)


for line in sys.stdin:
    try:
        out = {"result": index.lambda_handler(json.loads(line), Context())}
    except Exception as e:
        out = {"errorType": type(e).__name__, "errorMessage": str(e), "stackTrace": traceback.format_exc().splitlines()}
    answers.write(json.dumps(out) + "\n")
