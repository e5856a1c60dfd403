"""cct auto-cache bootstrap, imported by Python at start-up (the layer's exec wrapper puts
this folder first on PYTHONPATH).

It costs nothing until botocore is imported: a meta-path finder waits for
``botocore.handlers`` and then adds cct's DynamoDB hook to its BUILTIN_HANDLERS, the list
every botocore Session registers at creation. So every client and resource, created at
import or inside the handler, in any session, gets the hook. A sitecustomize that was
already on the path (ours shadows it) still runs, after us.
"""

import importlib.machinery
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_TARGET = "botocore.handlers"


def _install(module):
    try:
        import cct_auto_cache

        cct_auto_cache.install(module)
    except Exception as error:  # never break the function's start-up
        print("[cct-auto-cache] not active: %r" % (error,), file=sys.stderr)


class _Loader:
    def __init__(self, inner):
        self.inner = inner

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        _install(module)


class _Finder:
    """Finds botocore.handlers as usual, then runs _install once it has executed."""

    def find_spec(self, name, path=None, target=None):
        if name != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return None
        sys.meta_path.remove(self)
        spec.loader = _Loader(spec.loader)
        return spec


if _TARGET in sys.modules:
    _install(sys.modules[_TARGET])
else:
    sys.meta_path.insert(0, _Finder())


def _chain():
    """Run the sitecustomize our file shadows, if any (first one later on sys.path)."""
    for entry in sys.path:
        if not entry or os.path.abspath(entry) == _HERE:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            namespace = {"__name__": "sitecustomize", "__file__": candidate}
            with open(candidate, "rb") as handle:
                exec(compile(handle.read(), candidate, "exec"), namespace)
            return


try:
    _chain()
except Exception as error:
    print("[cct-auto-cache] the next sitecustomize failed: %r" % (error,), file=sys.stderr)
