/**
 * ServerForm: add or edit a server. A private key is pasted or read from a picked file (as text, in the page: it goes
 * nowhere but 'servers/save'); on edit an empty credential field keeps the stored one. Errors from the main process
 * appear at their field and everything the user typed stays in the form.
 */
import { useState, type FormEvent } from 'react';
import { ServerInput as ServerInputSchema, type ServerInput, type ServerView } from '../../../src-shared/contract/servers';
import { zodFieldErrors } from '../../../src-shared/field-errors';
import { Button } from '../components/Button';
import { Dialog } from '../components/Dialog';
import { Field } from '../components/Field';
import { useServersStore } from '../stores/servers-store';
import { fieldError, unclaimedErrors } from '../components/field-errors';
import './ssh-import.css';

const FORM_FIELDS = ['name', 'host', 'port', 'username', 'authType', 'privateKey', 'passphrase', 'password', 'tags', 'maxConcurrentJobs', 'agentForwarding', 'jumpServerIds'];

interface FormState {
  name: string;
  host: string;
  port: string;
  username: string;
  authType: 'key' | 'password' | 'agent';
  agentForwarding: boolean;
  /** Jump hosts, nearest to this workstation first. */
  jumpServerIds: string[];
  privateKey: string;
  passphrase: string;
  password: string;
  tags: string;
  maxConcurrentJobs: string;
}

function initialState(server: ServerView | null): FormState {
  return {
    name: server?.name ?? '',
    host: server?.host ?? '',
    port: String(server?.port ?? 22),
    username: server?.username ?? '',
    authType: server?.authType ?? 'key',
    agentForwarding: server?.agentForwarding ?? false,
    jumpServerIds: server?.jumpHosts.map((h) => h.id) ?? [],
    privateKey: '',
    passphrase: '',
    password: '',
    tags: server?.tags.join(', ') ?? '',
    maxConcurrentJobs: String(server?.maxConcurrentJobs ?? 4),
  };
}

/** Splits "web, prod db" style input into distinct tags. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean))];
}

function wholeNumber(text: string): number | null {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : null;
}

export function ServerForm({ server, onClose, onSaved }: { server: ServerView | null; onClose: () => void; onSaved: (s: ServerView) => void }) {
  const save = useServersStore((s) => s.save);
  const allServers = useServersStore((s) => s.servers);
  const [form, setForm] = useState<FormState>(() => initialState(server));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const editing = server !== null;
  const err = (name: string) => fieldError(errors, name);

  const setField = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => {
      const next = { ...e };
      delete next[key];
      return next;
    });
  };

  const pickKeyFile = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > 64 * 1024) {
      setErrors((e) => ({ ...e, privateKey: `${file.name} is ${Math.round(file.size / 1024)} KiB: a private key file is under 64 KiB` }));
      return;
    }
    setField('privateKey', await file.text());
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const local: Record<string, string> = {};
    const port = wholeNumber(form.port);
    const maxJobs = wholeNumber(form.maxConcurrentJobs);
    if (port === null) local.port = 'port must be a number from 1 to 65535';
    if (maxJobs === null) local.maxConcurrentJobs = 'enter a whole number';
    // Every invalid field at once: the contract's rules over the whole input too, not one round per error.
    const candidate = { name: form.name, host: form.host, port: port ?? 22, username: form.username, authType: form.authType, tags: parseTags(form.tags), maxConcurrentJobs: maxJobs ?? 4 };
    const parsed = ServerInputSchema.safeParse(candidate);
    const problems = { ...(parsed.success ? {} : zodFieldErrors(parsed.error.issues)), ...local };
    if (!editing && form.authType === 'key' && !form.privateKey.trim()) problems.privateKey ??= 'paste a private key (or pick its file)';
    if (!editing && form.authType === 'password' && !form.password) problems.password ??= 'enter the password';
    if (Object.keys(problems).length) {
      setErrors(problems);
      setFormError(`Not saved: ${Object.keys(problems).length} field${Object.keys(problems).length === 1 ? '' : 's'} to fix, marked below.`);
      return;
    }
    const input: ServerInput = {
      ...(server ? { id: server.id } : {}),
      name: form.name,
      host: form.host,
      port: port!,
      username: form.username,
      authType: form.authType,
      tags: parseTags(form.tags),
      maxConcurrentJobs: maxJobs!,
      agentForwarding: form.authType === 'agent' && form.agentForwarding,
      jumpServerIds: form.jumpServerIds,
    };
    if (form.authType === 'key') {
      if (form.privateKey.trim()) input.privateKey = form.privateKey;
      if (form.passphrase) input.passphrase = form.passphrase;
    } else if (form.authType === 'password' && form.password) {
      input.password = form.password;
    }
    setSaving(true);
    const outcome = await save(input);
    setSaving(false);
    if (outcome.ok) {
      onSaved(outcome.value);
      return;
    }
    setErrors(outcome.fields);
    const stray = unclaimedErrors(outcome.fields, FORM_FIELDS);
    setFormError(Object.keys(outcome.fields).length ? `Not saved: ${stray.length ? stray.join('; ') : 'fix the fields marked below.'}` : outcome.message);
  };

  const keepNote = editing && server.hasCredential && server.authType === form.authType;

  return (
    <Dialog title={editing ? `Edit ${server.name}` : 'Add server'} onClose={onClose} busy={saving} wide>
      <form className="stack-form" onSubmit={submit} aria-label={editing ? 'Edit server' : 'Add server'} noValidate>
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        <div className="form-grid">
          <Field label="Name" error={err('name')}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" value={form.name} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('name', e.target.value)} placeholder="db-1" />
            )}
          </Field>
          <Field label="Host" error={err('host')}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" value={form.host} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('host', e.target.value)} placeholder="10.0.0.5 or db-1.example.com" spellCheck={false} />
            )}
          </Field>
          <Field label="Port" error={err('port')}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" inputMode="numeric" value={form.port} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('port', e.target.value)} />
            )}
          </Field>
          <Field label="User" error={err('username')}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" value={form.username} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('username', e.target.value)} placeholder="deploy" spellCheck={false} autoComplete="off" />
            )}
          </Field>
        </div>

        <fieldset className="radio-row">
          <legend className="field-label">Authentication</legend>
          <label>
            <input type="radio" name="authType" checked={form.authType === 'key'} onChange={() => setField('authType', 'key')} /> Private key
          </label>
          <label>
            <input type="radio" name="authType" checked={form.authType === 'password'} onChange={() => setField('authType', 'password')} /> Password
          </label>
          <label>
            <input type="radio" name="authType" checked={form.authType === 'agent'} onChange={() => setField('authType', 'agent')} /> ssh-agent
          </label>
        </fieldset>

        {form.authType === 'agent' ? (
          <div className="stack-form">
            <p className="field-help">
              The keys of the ssh-agent Cronium was started with (SSH_AUTH_SOCK; Pageant or the OpenSSH agent on Windows), tried in the agent’s order.
              No key is stored by Cronium.
            </p>
            <label className="checkbox-row">
              <input
                type="checkbox"
                checked={form.agentForwarding}
                onChange={(e) => setField('agentForwarding', e.target.checked)}
                aria-describedby="agent-forwarding-warning"
              />{' '}
              Allow agent forwarding
            </label>
            {form.agentForwarding && (
              <p id="agent-forwarding-warning" className="form-warning" role="alert">
                Warning: while a job runs, anyone with root (or this user) on {form.host || 'the server'} can use your agent’s keys to log in elsewhere as you.
                Enable it only for a server you trust as much as this workstation, and only if its jobs need it.
              </p>
            )}
          </div>
        ) : form.authType === 'key' ? (
          <>
            <Field
              label="Private key"
              error={err('privateKey')}
              help={keepNote ? 'A key is stored in the keychain. Paste or pick a new one only to replace it.' : 'OpenSSH or PEM format. Stored in the OS keychain, never in the database.'}
            >
              {({ id, describedBy, invalid }) => (
                <div className="key-input">
                  <textarea
                    id={id}
                    className="mono-input"
                    rows={5}
                    value={form.privateKey}
                    aria-invalid={invalid || undefined}
                    aria-describedby={describedBy}
                    onChange={(e) => setField('privateKey', e.target.value)}
                    placeholder={keepNote ? '(stored key kept)' : '-----BEGIN OPENSSH PRIVATE KEY-----'}
                    spellCheck={false}
                    autoComplete="off"
                  />
                  <label className="btn btn-secondary file-pick">
                    Choose key file…
                    <input type="file" aria-label="Private key file" onChange={(e) => void pickKeyFile(e.target.files?.[0])} />
                  </label>
                </div>
              )}
            </Field>
            <Field label="Key passphrase (optional)" error={err('passphrase')}>
              {({ id, describedBy, invalid }) => (
                <input id={id} type="password" value={form.passphrase} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('passphrase', e.target.value)} autoComplete="off" />
              )}
            </Field>
          </>
        ) : (
          <Field label="Password" error={err('password')} help={keepNote ? 'A password is stored in the keychain. Type a new one only to replace it.' : 'Stored in the OS keychain, never in the database.'}>
            {({ id, describedBy, invalid }) => (
              <input id={id} type="password" value={form.password} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('password', e.target.value)} autoComplete="new-password" />
            )}
          </Field>
        )}

        <JumpHostChooser
          serverId={server?.id ?? null}
          servers={allServers}
          value={form.jumpServerIds}
          error={err('jumpServerIds')}
          onChange={(ids) => setField('jumpServerIds', ids)}
        />

        <div className="form-grid">
          <Field label="Tags" error={err('tags')} help="Separated by commas or spaces, e.g. prod, db">
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" value={form.tags} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('tags', e.target.value)} />
            )}
          </Field>
          <Field label="Max concurrent jobs" error={err('maxConcurrentJobs')} help="Jobs beyond this wait in the queue.">
            {({ id, describedBy, invalid }) => (
              <input id={id} type="text" inputMode="numeric" value={form.maxConcurrentJobs} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => setField('maxConcurrentJobs', e.target.value)} />
            )}
          </Field>
        </div>

        <div className="dialog-actions">
          <Button onClick={onClose} disabled={saving}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={saving}>
            {editing ? 'Save server' : 'Add server'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * Jump hosts (ProxyJump): other servers this one is reached through, nearest to this workstation first. Each hop keeps
 * its own credential and pinned host key, so a hop must be trusted (Test connection on it) before it can carry others.
 */
function JumpHostChooser({
  serverId, servers, value, error, onChange,
}: { serverId: string | null; servers: ServerView[]; value: string[]; error: string | undefined; onChange: (ids: string[]) => void }) {
  const candidates = servers.filter((s) => s.id !== serverId && !value.includes(s.id));
  const nameOf = (id: string) => servers.find((s) => s.id === id)?.name ?? id;
  return (
    <fieldset className="jump-hosts" aria-label="Jump hosts">
      <legend className="field-label">Jump hosts</legend>
      {value.length === 0 ? (
        <p className="field-help">None: Cronium connects to this server directly.</p>
      ) : (
        <ol className="jump-host-list">
          {value.map((id, i) => (
            <li key={id}>
              <span>{nameOf(id)}</span>{' '}
              <Button onClick={() => onChange(value.filter((v) => v !== id))} aria-label={`Remove jump host ${nameOf(id)}`}>
                Remove
              </Button>
              {i > 0 && (
                <Button onClick={() => onChange([...value.slice(0, i - 1), id, value[i - 1]!, ...value.slice(i + 1)])} aria-label={`Move ${nameOf(id)} earlier`}>
                  ↑
                </Button>
              )}
            </li>
          ))}
        </ol>
      )}
      <label className="checkbox-row">
        Add a jump host{' '}
        <select
          aria-label="Add a jump host"
          value=""
          onChange={(e) => {
            if (e.target.value) onChange([...value, e.target.value]);
          }}
          disabled={candidates.length === 0}
        >
          <option value="">{candidates.length === 0 ? 'no other server' : 'choose a server…'}</option>
          {candidates.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name} ({s.username}@{s.host})
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <p className="field-help">Reached in this order, each hop with its own credential and pinned host key (trust each hop first).</p>
    </fieldset>
  );
}
