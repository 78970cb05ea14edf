/**
 * Import from ~/.ssh/config: reads an OpenSSH client config (Includes, wildcard defaults) with the `ssh-config`
 * library, and known_hosts, and plans which servers to create or update, with the keys known_hosts offers. It only
 * reads: ServerService.importApply() saves a plan in one transaction. Every finding names its file and line (and host);
 * anything that would import a server wrongly (syntax errors, Include or ProxyJump loops, an unreadable IdentityFile)
 * is an error that blocks the import, never skipped silently. `Match exec` is never evaluated (no local command runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig, { glob as sshGlob, LineType, type Directive, type Line, type Section } from 'ssh-config';
import { utils as ssh2Utils } from 'ssh2';
import { KnownHosts, pickKnownKey } from '../ssh/known-hosts';
import { sameFingerprint } from '../ssh/host-key';
import type { ImportedServer, SshConfigPreview } from '../../../src-shared/contract/servers';

/** What the import compares against: the servers already in the catalogue, by name. */
export interface ExistingServer {
  id: string;
  name: string;
  host: string;
  port: number;
  username: string;
  authType: 'key' | 'password' | 'agent';
  pinnedFingerprint: string | null;
  jumpServerIds: string[];
}

export interface ImportPlanEntry {
  preview: ImportedServer;
  existingId: string | null;
  /** The IdentityFile's text, for the keychain; null for agent servers or when the stored key is kept. */
  privateKey: string | null;
  /** The key to pin, when known_hosts offers one Cronium has no reason to doubt. */
  pin: { fingerprint: string; algorithm: string } | null;
  /** Whether the stored pin is dropped (the address changed and known_hosts offers nothing). */
  unpin: boolean;
}

export interface ImportPlan {
  preview: SshConfigPreview;
  entries: ImportPlanEntry[];
}

export interface ImportOptions {
  configPath?: string;
  knownHostsPath?: string;
  exclude?: string[];
  homeDir?: string;
  localUser?: string;
}

interface Place {
  file: string;
  line: number | null;
}

const SUPPORTED = new Set(['host', 'hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'proxyjump', 'include']);

const WHY_UNSUPPORTED: Record<string, string> = {
  proxycommand: 'only ProxyJump is supported: a ProxyCommand runs a local program for every connection',
  forwardagent: 'agent forwarding is set per server in Cronium (off by default, with a warning); turn it on in the server form if a job needs it',
  localforward: 'port forwards are not part of running jobs',
  remoteforward: 'port forwards are not part of running jobs',
  dynamicforward: 'port forwards are not part of running jobs',
  controlmaster: 'Cronium keeps its own connection pool',
  controlpath: 'Cronium keeps its own connection pool',
  controlpersist: 'Cronium keeps its own connection pool',
  stricthostkeychecking: 'Cronium always pins host keys and asks before trusting a new one',
  userknownhostsfile: 'known_hosts is read from the file chosen for this import, and only to offer keys',
  serveraliveinterval: 'Cronium checks liveness itself',
  serveralivecountmax: 'Cronium checks liveness itself',
  addkeystoagent: 'Cronium never adds keys to the agent',
  usekeychain: 'Cronium keeps credentials in the OS keychain itself',
  match: 'Match blocks are not evaluated (a Match exec would run a local command): their settings are applied to no host',
};

function unsupportedWhy(option: string): string {
  return WHY_UNSUPPORTED[option.toLowerCase()] ?? 'Cronium does not use this option; the connection is made without it';
}

const KEYWORD_LINE = /^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*)$/;

function valueText(d: Directive): string {
  return typeof d.value === 'string' ? d.value : d.value.map((v) => v.val).join(' ');
}

function valueList(d: Directive): string[] {
  return typeof d.value === 'string' ? [d.value] : d.value.map((v) => v.val);
}

const isDirective = (l: Line): l is Directive => l.type === LineType.DIRECTIVE;
const isSection = (l: Line): l is Section => isDirective(l) && 'config' in l && Array.isArray((l as Section).config);

class ConfigReader {
  readonly files: string[] = [];
  readonly errors: SshConfigPreview['errors'] = [];
  readonly places = new WeakMap<object, Place>();

  constructor(
    private readonly homeDir: string,
    /** Relative Includes are read from here: the main config's folder (~/.ssh for the default config, as ssh does). */
    private readonly includeBase: string,
    private readonly display: (file: string) => string,
  ) {}

  /** Parses `file` and, recursively, what it Includes; null when the file has errors (reported). */
  load(file: string, stack: string[], includedFrom: Place | null): SSHConfig | null {
    const shown = this.display(file);
    if (stack.includes(file)) {
      this.errors.push({
        file: includedFrom ? includedFrom.file : shown, line: includedFrom?.line ?? null, host: null,
        message: `Include loop: ${[...stack, file].map((f) => this.display(f)).join(' → ')}; remove the Include that leads back`,
      });
      return null;
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.errors.push({
        file: includedFrom ? includedFrom.file : shown, line: includedFrom?.line ?? null, host: null,
        message: `${shown} cannot be read (${code === 'ENOENT' ? 'it does not exist' : code ?? String(err)})`,
      });
      return null;
    }
    this.files.push(shown);
    // The library is lenient (a malformed line may silently swallow what follows), so every line is checked first.
    const lines: number[] = [];
    let bad = false;
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const m = KEYWORD_LINE.exec(line);
      const fail = (why: string) => {
        bad = true;
        this.errors.push({ file: shown, line: i + 1, host: null, message: `${shown} line ${i + 1}: ${why}` });
      };
      if (!m && /^[A-Za-z][A-Za-z0-9]*$/.test(line)) return fail(`${line} has no value`);
      if (!m) return fail(`cannot read “${line.slice(0, 80)}”: a line is a keyword and its value (e.g. “HostName 10.0.0.5”)`);
      if (m[2]!.trim() === '') return fail(`${m[1]} has no value`);
      if ((m[2]!.match(/"/g) ?? []).length % 2 !== 0) return fail(`${m[1]} has an unbalanced quote`);
      lines.push(i + 1);
    });
    if (bad) return null;
    let config: SSHConfig;
    try {
      config = SSHConfig.parse(text);
    } catch (err) {
      this.errors.push({ file: shown, line: null, host: null, message: `${shown} could not be parsed: ${(err as Error).message}` });
      return null;
    }
    // One directive per checked line, in order: that gives every directive its line number.
    let k = 0;
    const mark = (list: Line[]) => {
      for (const l of list) {
        if (!isDirective(l)) continue;
        this.places.set(l, { file: shown, line: lines[k++] ?? null });
        if (isSection(l)) mark(l.config);
      }
    };
    mark(config);
    this.expandIncludes(config, file, [...stack, file]);
    return config;
  }

  private expandIncludes(list: Line[], file: string, stack: string[]): void {
    for (let i = 0; i < list.length; i++) {
      const l = list[i]!;
      if (isSection(l)) {
        this.expandIncludes(l.config, file, stack);
        continue;
      }
      if (!isDirective(l) || l.param.toLowerCase() !== 'include') continue;
      const place = this.places.get(l) ?? { file: this.display(file), line: null };
      const included: Line[] = [];
      for (const pattern of valueList(l)) {
        for (const target of this.resolveInclude(pattern)) {
          const child = this.load(target, stack, place);
          if (child) included.push(...child);
        }
      }
      list.splice(i, 1, ...included);
      i += included.length - 1;
    }
  }

  /** Include paths: ~ expanded, relative ones under the main config's folder, globs in the last part. */
  private resolveInclude(pattern: string): string[] {
    let p = pattern.startsWith('~') ? path.join(this.homeDir, pattern.slice(1)) : pattern;
    if (!path.isAbsolute(p)) p = path.join(this.includeBase, p);
    const base = path.basename(p);
    if (!/[*?]/.test(base)) return [p];
    const dir = path.dirname(p);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    return names.filter((n) => sshGlob(base, n)).sort().map((n) => path.join(dir, n));
  }
}

function expandTokens(value: string, ctx: { home: string; host: string; user: string; localUser: string; alias: string }): string {
  let v = value.startsWith('~') ? ctx.home + value.slice(1) : value;
  v = v.replace(/%([%dhrunC])/g, (_, t: string) =>
    t === '%' ? '%' : t === 'd' ? ctx.home : t === 'h' ? ctx.host : t === 'r' ? ctx.user : t === 'u' ? ctx.localUser : t === 'n' ? ctx.alias : `%${t}`,
  );
  return v;
}

const VALID_HOST = /^[A-Za-z0-9.:\-[\]_]+$/;
const VALID_USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/;

/** Reads the files and plans the import (nothing is saved). */
export function planSshConfigImport(opts: ImportOptions, existing: ExistingServer[]): ImportPlan {
  const home = opts.homeDir ?? os.homedir();
  const localUser = opts.localUser ?? safeLocalUser();
  const configPath = opts.configPath ? expandHome(opts.configPath, home) : path.join(home, '.ssh', 'config');
  const knownHostsPath = opts.knownHostsPath ? expandHome(opts.knownHostsPath, home) : path.join(home, '.ssh', 'known_hosts');
  const display = (f: string) => (f.startsWith(home + path.sep) ? `~${f.slice(home.length)}` : f);
  const exclude = new Set(opts.exclude ?? []);
  const reader = new ConfigReader(home, path.dirname(configPath), display);
  const preview: SshConfigPreview = {
    configPath: display(configPath), knownHostsPath: display(knownHostsPath), files: reader.files, servers: [], unsupported: [], errors: reader.errors,
  };
  const config = reader.load(configPath, [], null);
  if (!config) return { preview, entries: [] };
  const placeOf = (d: Directive): Place => reader.places.get(d) ?? { file: display(configPath), line: null };

  // Match blocks are reported and removed before anything is computed.
  for (let i = config.length - 1; i >= 0; i--) {
    const l = config[i]!;
    if (isSection(l) && l.param.toLowerCase() === 'match') {
      preview.unsupported.push({ ...placeOf(l), host: null, option: `Match ${valueText(l)}`, why: unsupportedWhy('match') });
      config.splice(i, 1);
    }
  }

  // Aliases: the concrete names of Host lines; patterns (*, ?, !) only give defaults.
  const aliases: Array<{ alias: string; section: Section }> = [];
  const seen = new Set<string>();
  for (const l of config) {
    if (!isSection(l) || l.param.toLowerCase() !== 'host') continue;
    for (const name of valueList(l)) {
      if (/[*?!]/.test(name) || seen.has(name)) continue;
      seen.add(name);
      aliases.push({ alias: name, section: l });
    }
  }

  const walk = (list: Line[], host: string | null) => {
    for (const l of list) {
      if (!isDirective(l)) continue;
      const key = l.param.toLowerCase();
      if (isSection(l)) {
        walk(l.config, valueText(l));
        continue;
      }
      if (!SUPPORTED.has(key)) preview.unsupported.push({ ...placeOf(l), host, option: `${l.param} ${valueText(l)}`, why: unsupportedWhy(key) });
    }
  };
  walk(config, null);

  /** The directive that set `key` for an alias (first one wins, as in ssh), for its file and line. */
  const directiveFor = (alias: string, key: string): Directive | undefined => {
    for (const l of config) {
      if (isSection(l)) {
        if (!sshGlob(valueList(l), alias)) continue;
        const d = l.config.find((c) => isDirective(c) && c.param.toLowerCase() === key) as Directive | undefined;
        if (d) return d;
      } else if (isDirective(l) && l.param.toLowerCase() === key) {
        return l;
      }
    }
    return undefined;
  };

  let knownHosts: KnownHosts | null = null;
  try {
    knownHosts = KnownHosts.parse(fs.readFileSync(knownHostsPath, 'utf8'));
  } catch {
    knownHosts = null;
  }
  const byName = new Map(existing.map((s) => [s.name, s]));
  const byId = new Map(existing.map((s) => [s.id, s]));
  const aliasSet = new Set(aliases.map((a) => a.alias));
  const entries: ImportPlanEntry[] = [];
  const hostErrors: SshConfigPreview['errors'] = [];
  const jumpsOf = new Map<string, { hops: string[]; place: Place }>();

  for (const { alias, section } of aliases) {
    const excluded = exclude.has(alias);
    const errorsBefore = hostErrors.length;
    const fail = (d: Directive | undefined, message: string) => {
      const at = d ? placeOf(d) : placeOf(section);
      hostErrors.push({ ...at, host: alias, message: `${at.file}${at.line ? ` line ${at.line}` : ''}, host ${alias}: ${message}` });
    };
    const computed = config.compute(alias, { ignoreCase: true, matchExec: false }) as Record<string, string | string[] | undefined>;
    const first = (k: string): string | undefined => {
      const v = computed[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const hostRaw = first('hostname') ?? alias;
    const user = first('user') ?? localUser;
    const host = expandTokens(hostRaw, { home, host: alias, user, localUser, alias });
    if (!VALID_HOST.test(host)) fail(directiveFor(alias, 'hostname'), `HostName “${host}” is not a host name or address Cronium can use`);
    if (!VALID_USER.test(user)) fail(directiveFor(alias, 'user'), `User “${user}” is not a valid user name`);
    const portText = first('port') ?? '22';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(directiveFor(alias, 'port'), `Port “${portText}” must be a number from 1 to 65535`);
    const identitiesOnly = (first('identitiesonly') ?? 'no').toLowerCase() === 'yes';

    const changes: string[] = [];
    let authType: 'key' | 'agent' = 'agent';
    let identityFile: string | null = null;
    let privateKey: string | null = null;
    const idValues = computed.identityfile === undefined ? [] : Array.isArray(computed.identityfile) ? computed.identityfile : [computed.identityfile];
    if (idValues.length > 0) {
      const idDirective = directiveFor(alias, 'identityfile');
      const file = expandTokens(idValues[0]!, { home, host, user, localUser, alias });
      identityFile = display(file);
      if (idValues.length > 1) changes.push(`only the first IdentityFile (${identityFile}) is used`);
      let text: string | null = null;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        fail(idDirective, `IdentityFile ${identityFile} cannot be read (${code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : code ?? String(err)})`);
      }
      if (text !== null) {
        const parsed = ssh2Utils.parseKey(text);
        if (parsed instanceof Error) {
          if (/encrypted|passphrase/i.test(parsed.message)) {
            changes.push(`${identityFile} is protected by a passphrase: Cronium will use the ssh-agent for it (add it with ssh-add)`);
          } else {
            fail(idDirective, `IdentityFile ${identityFile} is not a private key Cronium can read (${parsed.message})`);
          }
        } else if (!(Array.isArray(parsed) ? parsed[0] : parsed)?.isPrivateKey()) {
          fail(idDirective, `IdentityFile ${identityFile} is a public key; name the private key (the file without .pub)`);
        } else {
          authType = 'key';
          privateKey = text;
        }
      }
    } else {
      changes.push('no IdentityFile: Cronium will use the ssh-agent’s keys');
    }

    // ProxyJump: each hop must be another Host of this config (so it gets its own server, credential and pin).
    const jumpDirective = directiveFor(alias, 'proxyjump');
    const jumpText = first('proxyjump');
    const hops: string[] = [];
    if (jumpText && jumpText.toLowerCase() !== 'none') {
      for (const hop of jumpText.split(',').map((h) => h.trim()).filter(Boolean)) {
        if (aliasSet.has(hop)) hops.push(hop);
        else fail(jumpDirective, `ProxyJump names “${hop}”, which is not a Host in this config; add a Host block for it (its own user, key and host key)`);
      }
    }
    jumpsOf.set(alias, { hops, place: jumpDirective ? placeOf(jumpDirective) : placeOf(section) });

    // Host key: what known_hosts holds for the address, compared with what Cronium already pins.
    const current = byName.get(alias);
    const endpointSame = current !== undefined && current.host === host && current.port === port;
    const keys = knownHosts?.keysFor(host, port) ?? [];
    const picked = pickKnownKey(keys);
    let hostKey: ImportedServer['hostKey'];
    let pin: ImportPlanEntry['pin'] = null;
    const khShown = preview.knownHostsPath;
    if (picked && 'conflict' in picked) {
      hostKey = { status: 'mismatch', fingerprint: null, algorithm: null, source: khShown, message: `${khShown} disagrees with itself for ${host}: ${picked.conflict}; no key is pinned, the first connection will ask you to approve one` };
    } else if (current?.pinnedFingerprint && endpointSame) {
      if (picked && !sameFingerprint(picked.key.fingerprint, current.pinnedFingerprint)) {
        hostKey = {
          status: 'mismatch', fingerprint: picked.key.fingerprint, algorithm: picked.key.algorithm, source: `${khShown}:${picked.key.line}${picked.key.hashed ? ' (hashed)' : ''}`,
          message: `Cronium pins ${current.pinnedFingerprint} for ${alias}, but ${khShown} line ${picked.key.line} records ${picked.key.fingerprint}; Cronium's pin is kept. Find out which is right before re-trusting`,
        };
      } else {
        hostKey = { status: 'pinned', fingerprint: current.pinnedFingerprint, algorithm: null, source: null, message: `Cronium already pins ${current.pinnedFingerprint}` };
      }
    } else if (picked) {
      pin = { fingerprint: picked.key.fingerprint, algorithm: picked.key.algorithm };
      const source = `${khShown}:${picked.key.line}${picked.key.hashed ? ' (hashed)' : ''}`;
      hostKey = { status: 'known', fingerprint: pin.fingerprint, algorithm: pin.algorithm, source, message: `${pin.algorithm} ${pin.fingerprint} from ${source} will be pinned` };
    } else {
      hostKey = { status: 'unknown', fingerprint: null, algorithm: null, source: null, message: `${host} is not in ${khShown}: the first connection will show its key for approval` };
    }

    let action: ImportedServer['action'] = 'create';
    if (current) {
      const diff: string[] = [];
      if (current.host !== host) diff.push(`host ${current.host} → ${host}`);
      if (current.port !== port) diff.push(`port ${current.port} → ${port}`);
      if (current.username !== user) diff.push(`user ${current.username} → ${user}`);
      if (current.authType !== authType || authType === 'key') {
        if (current.authType !== authType) diff.push(`credential ${current.authType} → ${authType}`);
      }
      const currentJumps = current.jumpServerIds.map((id) => byId.get(id)?.name ?? id).join(',');
      if (currentJumps !== hops.join(',')) diff.push(`jump hosts ${currentJumps || 'none'} → ${hops.join(', ') || 'none'}`);
      if (pin) diff.push(`pin ${pin.fingerprint}`);
      action = diff.length > 0 ? 'update' : 'unchanged';
      changes.unshift(...diff);
      // An unchanged server keeps its stored key: nothing is written to the keychain.
      if (action === 'unchanged') privateKey = null;
    }
    const unpin = current !== undefined && !endpointSame && current.pinnedFingerprint !== null && pin === null;
    if (unpin) changes.push('the address changed: the pinned key is dropped and must be approved again');

    if (excluded) hostErrors.splice(errorsBefore);
    const view: ImportedServer = {
      alias, action, host, port: Number.isInteger(port) ? port : 22, username: user, authType, identityFile, identitiesOnly, jumpHosts: hops, hostKey,
      changes, excluded, place: { ...placeOf(section), host: alias },
    };
    entries.push({ preview: view, existingId: current?.id ?? null, privateKey, pin, unpin });
  }

  // ProxyJump loops (a → b → a), and hops that were unticked while a server still goes through them.
  const included = new Set(entries.filter((e) => !e.preview.excluded).map((e) => e.preview.alias));
  const reported = new Set<string>();
  const visit = (alias: string, pathSoFar: string[]) => {
    for (const hop of jumpsOf.get(alias)?.hops ?? []) {
      if (pathSoFar.includes(hop)) {
        const cycle = [...pathSoFar.slice(pathSoFar.indexOf(hop)), hop];
        const loop = cycle.join(' → ');
        // The same cycle seen from each of its hosts is reported once.
        const key = [...new Set(cycle)].sort().join(',');
        if (reported.has(key)) continue;
        reported.add(key);
        const at = jumpsOf.get(alias)!.place;
        hostErrors.push({ ...at, host: alias, message: `${at.file}${at.line ? ` line ${at.line}` : ''}, host ${alias}: ProxyJump loop ${loop}; a host cannot be reached through itself` });
        continue;
      }
      visit(hop, [...pathSoFar, hop]);
    }
  };
  for (const alias of included) visit(alias, [alias]);
  for (const alias of included) {
    for (const hop of jumpsOf.get(alias)?.hops ?? []) {
      if (!included.has(hop) && !byName.has(hop)) {
        const at = jumpsOf.get(alias)!.place;
        hostErrors.push({ ...at, host: alias, message: `host ${alias} goes through ${hop}, which is unticked and not yet a server; tick ${hop} too` });
      }
    }
  }
  preview.errors.push(...hostErrors);
  preview.servers = entries.map((e) => e.preview);
  return { preview, entries };
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

function safeLocalUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'root';
  }
}
