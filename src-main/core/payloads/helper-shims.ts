/**
 * The helper shims a payload carries, one per language: cronium.sh (bash functions), cronium.py (a module) and
 * cronium.js (a module). Each talks to its runner over the unix socket named by $CRONIUM_HELPER_SOCKET, one JSON
 * request and one JSON reply per line (runner-wire HelperCall / HelperReply). They hold no state and no secret.
 * Which helpers exist in which mode is written down in docs/helpers.md.
 */

export const BASH_SHIM_FILE = 'cronium.sh';
export const PYTHON_SHIM_FILE = 'cronium.py';
export const NODE_SHIM_FILE = 'cronium.js';

/**
 * bash: the runner binary is the socket client (`cronium-runner helper <op> ...`). Values go to it on stdin (printf is
 * a bash builtin), never on its argv, so they do not show in `ps`.
 */
export const BASH_SHIM = `# Cronium helpers for bash scripts run by the Cronium runner. Values print on stdout.
_cronium_helper() { "$CRONIUM_RUNNER_EXEC" \${CRONIUM_RUNNER_SCRIPT:+"$CRONIUM_RUNNER_SCRIPT"} helper "$@"; }
cronium_input() { _cronium_helper input </dev/null; }
cronium_event() { _cronium_helper event </dev/null; }
# cronium_output VALUE: JSON text is stored as JSON, anything else as a string.
cronium_output() { printf '%s' "$1" | _cronium_helper output -; }
cronium_get_variable() { _cronium_helper getVariable "$1" </dev/null; }
# cronium_set_variable KEY VALUE [global|event]: the event's scope unless "global" is given.
cronium_set_variable() { printf '%s' "$2" | _cronium_helper setVariable "$1" - \${3:+"$3"}; }
# cronium_set_secret_variable KEY VALUE [global|event]: kept in the keychain, masked in logs from then on.
cronium_set_secret_variable() { printf '%s' "$2" | _cronium_helper setVariable "$1" - \${3:+"$3"} secret; }
# cronium_set_condition true|false
cronium_set_condition() { _cronium_helper setCondition "$1" </dev/null; }
`;

export const PYTHON_SHIM = `"""Cronium helpers for Python scripts run by the Cronium runner: import cronium."""
import json as _json
import os as _os
import socket as _socket

_next_id = [0]


def _call(op, args=None):
    path = _os.environ.get("CRONIUM_HELPER_SOCKET")
    if not path:
        raise RuntimeError("cronium helpers work only in scripts run by the Cronium runner")
    _next_id[0] += 1
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall((_json.dumps({"id": str(_next_id[0]), "op": op, "args": args or {}}) + "\\n").encode("utf-8"))
        buf = b""
        while not buf.endswith(b"\\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("cronium." + op + ": the runner closed the helper socket")
            buf += chunk
    finally:
        s.close()
    reply = _json.loads(buf.decode("utf-8"))
    if not reply.get("ok"):
        raise RuntimeError("cronium." + op + ": " + str(reply.get("error")))
    return reply.get("value")


def input():
    return _call("input")


def output(value):
    _call("output", {"value": value})


def getVariable(key):
    return _call("getVariable", {"key": key})


def setVariable(key, value, scope=None, secret=False):
    """scope: None (the event's scope) or "global"; secret=True keeps it in the keychain, masked in logs."""
    args = {"key": key, "value": str(value)}
    if scope:
        args["scope"] = scope
    if secret:
        args["secret"] = True
    _call("setVariable", args)


def setCondition(value):
    _call("setCondition", {"value": bool(value)})


def event():
    return _call("event")
`;

export const NODE_SHIM = `'use strict';
// Cronium helpers for Node scripts run by the Cronium runner: const cronium = require('cronium'); every call returns a Promise.
const net = require('net');
let nextId = 0;

function call(op, args) {
  const path = process.env.CRONIUM_HELPER_SOCKET;
  if (!path) return Promise.reject(new Error('cronium helpers work only in scripts run by the Cronium runner'));
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id: String(++nextId), op, args: args || {} }) + '\\n'));
    sock.on('data', (c) => {
      buf += c;
      const nl = buf.indexOf('\\n');
      if (nl === -1) return;
      sock.end();
      const reply = JSON.parse(buf.slice(0, nl));
      if (reply.ok) resolve(reply.value === undefined ? null : reply.value);
      else reject(new Error('cronium.' + op + ': ' + reply.error));
    });
    sock.on('error', reject);
  });
}

module.exports = {
  input: () => call('input'),
  output: (value) => call('output', { value }).then(() => undefined),
  getVariable: (key) => call('getVariable', { key }),
  // scope: undefined (the event's scope) or 'global'; options.secret keeps it in the keychain, masked in logs.
  setVariable: (key, value, scope, options) => call('setVariable', Object.assign({ key, value: String(value) }, scope ? { scope } : {}, options && options.secret ? { secret: true } : {})).then(() => undefined),
  setCondition: (value) => call('setCondition', { value: Boolean(value) }).then(() => undefined),
  event: () => call('event'),
};
`;
