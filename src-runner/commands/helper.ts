/**
 * `cronium-runner helper <op> [args...]`: the client end of the helper socket for shell scripts (cronium.sh calls
 * it). Sends one request to $CRONIUM_HELPER_SOCKET and prints the value: strings as they are, anything else as JSON.
 *   input | event | getVariable <key> | setVariable <key> <value|-> [global|event] [secret] | output <json-or-text|-> |
 *   setCondition <true|false>      ("-": the value is read from stdin)
 */
import net from 'node:net';
import { RUNNER_EXIT_USAGE } from '../../src-shared/protocol/runner-info';
import { HelperOp, HelperReply } from '../../src-shared/protocol/runner-wire';
import type { RunnerCommand } from './command';

/** A value given as "-" is read from stdin (the bash shim pipes values so they never show in `ps`). */
async function valueArg(arg: string | undefined): Promise<string> {
  if (arg !== '-') return arg ?? '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

async function argsFor(op: HelperOp, rest: string[]): Promise<Record<string, unknown>> {
  switch (op) {
    case 'getVariable':
      return { key: rest[0] ?? '' };
    case 'setVariable': {
      const flags = rest.slice(2);
      const scope = flags.find((f) => f === 'global' || f === 'event');
      return { key: rest[0] ?? '', value: await valueArg(rest[1]), ...(scope ? { scope } : {}), ...(flags.includes('secret') ? { secret: true } : {}) };
    }
    case 'output': {
      const text = await valueArg(rest[0]);
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { value: text };
      }
    }
    case 'setCondition':
      return { value: /^(true|1|yes)$/i.test(rest[0] ?? '') };
    default:
      return {};
  }
}

export const helperCommand: RunnerCommand = {
  summary: 'call a helper from a shell script (input, output, getVariable, setVariable, setCondition, event)',
  args: '<op> [args...]',
  async run(args, io) {
    const op = HelperOp.safeParse(args[0]);
    const socketPath = io.env.CRONIUM_HELPER_SOCKET;
    if (!op.success || !socketPath) {
      io.stderr(!socketPath ? 'helper: CRONIUM_HELPER_SOCKET is not set (helpers work in scripts run by the runner)\n' : `helper: unknown op ${args[0] ?? ''}\n`);
      return RUNNER_EXIT_USAGE;
    }
    const helperArgs = await argsFor(op.data, args.slice(1));
    const reply = await new Promise<HelperReply>((resolve, reject) => {
      const sock = net.connect(socketPath);
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(JSON.stringify({ id: '1', op: op.data, args: helperArgs }) + '\n'));
      sock.on('data', (c: string) => {
        buf += c;
        const nl = buf.indexOf('\n');
        if (nl === -1) return;
        sock.end();
        try {
          resolve(HelperReply.parse(JSON.parse(buf.slice(0, nl))));
        } catch (err) {
          reject(err);
        }
      });
      sock.on('error', reject);
      sock.on('close', () => reject(new Error('the runner closed the helper socket without an answer')));
    });
    if (!reply.ok) {
      io.stderr(`cronium ${op.data}: ${reply.error ?? 'failed'}\n`);
      return 1;
    }
    if (reply.value !== undefined && reply.value !== null) io.stdout((typeof reply.value === 'string' ? reply.value : JSON.stringify(reply.value)) + '\n');
    return 0;
  },
};
