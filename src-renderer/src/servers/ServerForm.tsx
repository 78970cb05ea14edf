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

const FORM_FIELDS = ['name', 'host', 'port', 'username', 'authType', 'privateKey', 'passphrase', 'password', 'tags', 'maxConcurrentJobs'];

interface FormState {
  name: string;
  host: string;
  port: string;
  username: string;
  authType: 'key' | 'password';
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
    };
    if (form.authType === 'key') {
      if (form.privateKey.trim()) input.privateKey = form.privateKey;
      if (form.passphrase) input.passphrase = form.passphrase;
    } else if (form.password) {
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
        </fieldset>

        {form.authType === 'key' ? (
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
