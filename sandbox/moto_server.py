"""Run moto's server on loopback with cct's fidelity additions (sandbox/fidelity/).

    python3 sandbox/moto_server.py --port 5000 [--fidelity '{"eniLingerSeconds": 5}'] [--tied]

--tied: exit when the process that started us dies (Linux), so a killed test run leaves
no server behind. Exits with code 3 and a one-line hint when moto is not installed.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tied import tie_to_parent  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fidelity", default="{}", help="JSON start-up fidelity settings")
    parser.add_argument("--tied", action="store_true")
    args = parser.parse_args()
    if args.tied:
        tie_to_parent()
    load()
    serve(args.host, args.port, json.loads(args.fidelity))


# The moto services the sandbox serves and the fidelity package patches: imported up front
# by the zygote (sandbox/zygote.py), so a forked server starts with them loaded.
SERVICES = ["ec2", "elasticache", "awslambda", "iam", "sts", "cloudwatch", "logs", "dynamodb", "sns", "s3",
            "resourcegroupstaggingapi"]


def load(services: bool = False) -> None:
    """Import moto (exit 3 with a hint when it is missing) and the fidelity package."""
    # AWS managed policies (AWSLambdaBasicExecutionRole, AWSLambdaVPCAccessExecutionRole)
    # exist in moto's IAM only with this set, and it is read when moto's IAM loads.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    try:
        import moto  # noqa: F401
        from moto.moto_server import werkzeug_app  # noqa: F401
        from werkzeug import serving  # noqa: F401
    except ImportError as e:
        print(f'cct sandbox: moto server is not installed ({e}). Install it: pip install "moto[server]>=5.2,<5.3"',
              file=sys.stderr)
        sys.exit(3)
    import fidelity  # noqa: F401

    if services:
        import importlib

        for name in SERVICES:
            importlib.import_module(f"moto.{name}.models")
            importlib.import_module(f"moto.{name}.responses")


def serve(host: str, port: int, startup: dict) -> None:
    import fidelity
    import moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    fidelity.install(startup)
    app = fidelity.wrap_app(DomainDispatcherApplication(create_backend_app))
    print(f"cct sandbox: moto {moto.__version__} with fidelity {fidelity.core.config} on {host}:{port}", flush=True)
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
