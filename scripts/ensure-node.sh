# Sourced, not run: puts a Node >= 22 first on PATH.
# The machine's node may be older (Node 20 is end-of-life); Node 22 then comes from the
# npm registry's `node` package, a binary inside a registry package, cached per user.
cct_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(cct_node_major)" -lt 22 ]; then
  CCT_NODE_DIR="${CCT_NODE_DIR:-$HOME/.cache/cct/node22}"
  if [ ! -x "$CCT_NODE_DIR/node_modules/.bin/node" ]; then
    echo "cct: installing Node 22 into $CCT_NODE_DIR (machine node is $(node --version 2>/dev/null || echo missing))" >&2
    npm install --silent --no-audit --no-fund --prefix "$CCT_NODE_DIR" node@22 >&2
  fi
  export PATH="$CCT_NODE_DIR/node_modules/.bin:$PATH"
fi
