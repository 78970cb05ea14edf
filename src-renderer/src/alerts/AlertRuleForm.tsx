/**
 * AlertRuleForm: the dialog that creates or edits an alert rule. Every field is checked at once against the
 * contract's own schema before sending (so all mistakes show together), then the main process adds what only it can
 * check (the subject exists, the name is free, the command is an executable file). Channel secrets (webhook URL,
 * SMTP password) are write-only: an edit shows that one is stored and keeps it unless a new one is typed.
 */
import { useState } from 'react';
import { AlertRuleInput, type AlertRuleView, type AlertSubjectKind, type AlertTrigger } from '../../../src-shared/contract/alerts';
import { zodFieldErrors } from '../../../src-shared/field-errors';
import { Button } from '../components/Button';
import { Dialog } from '../components/Dialog';
import { Field } from '../components/Field';
import { fieldError, unclaimedErrors } from '../components/field-errors';
import { useAlertsStore } from '../stores/alerts-store';

type ChannelKind = 'webhook' | 'email' | 'command';

export interface FormState {
  name: string;
  subjectKind: AlertSubjectKind;
  subjectId: string;
  triggers: AlertTrigger[];
  channelKind: ChannelKind;
  format: 'json' | 'slack' | 'teams';
  url: string;
  host: string;
  port: string;
  security: 'tls' | 'starttls' | 'none';
  username: string;
  password: string;
  from: string;
  to: string;
  command: string;
  args: string;
  maxPerWindow: string;
  windowSeconds: string;
  dedupSeconds: string;
  enabled: boolean;
}

const TRIGGERS: Array<[AlertTrigger, string]> = [
  ['failure', 'Failure'],
  ['recovery', 'Recovery (success after a failure)'],
  ['success', 'Every success'],
  ['missed', 'Missed schedule'],
];

const CLAIMED = ['name', 'subjectKind', 'subjectId', 'triggers', 'channel', 'maxPerWindow', 'windowSeconds', 'dedupSeconds', 'enabled'];

export function initialState(rule: AlertRuleView | null): FormState {
  const c = (rule?.channelConfig ?? {}) as Record<string, unknown>;
  return {
    name: rule?.name ?? '',
    subjectKind: rule?.subjectKind ?? 'event',
    subjectId: rule?.subjectId ?? '',
    triggers: rule?.triggers ?? ['failure', 'recovery'],
    channelKind: rule?.channelKind ?? 'webhook',
    format: (c.format as FormState['format']) ?? 'json',
    url: '',
    host: typeof c.host === 'string' ? c.host : '',
    port: typeof c.port === 'number' ? String(c.port) : '587',
    security: (c.security as FormState['security']) ?? 'starttls',
    username: typeof c.username === 'string' ? c.username : '',
    password: '',
    from: typeof c.from === 'string' ? c.from : '',
    to: Array.isArray(c.to) ? c.to.join(', ') : '',
    command: typeof c.command === 'string' ? c.command : '',
    args: Array.isArray(c.args) ? c.args.join('\n') : '',
    maxPerWindow: String(rule?.maxPerWindow ?? 5),
    windowSeconds: String(rule?.windowSeconds ?? 3600),
    dedupSeconds: String(rule?.dedupSeconds ?? 900),
    enabled: rule?.enabled ?? true,
  };
}

function toNumber(s: string): number {
  return s.trim() === '' ? Number.NaN : Number(s);
}

function buildInput(f: FormState, rule: AlertRuleView | null) {
  const keepSecret = rule !== null && rule.hasSecret && rule.channelKind === f.channelKind;
  const channel =
    f.channelKind === 'webhook'
      ? { kind: 'webhook' as const, config: { format: f.format }, ...(f.url.trim() ? { secret: f.url.trim() } : {}) }
      : f.channelKind === 'email'
        ? {
            kind: 'email' as const,
            config: {
              host: f.host, port: toNumber(f.port), security: f.security, username: f.username, from: f.from,
              to: f.to.split(',').map((s) => s.trim()).filter(Boolean),
            },
            ...(f.password ? { secret: f.password } : {}),
          }
        : { kind: 'command' as const, config: { command: f.command, args: f.args.split('\n').map((s) => s.trim()).filter(Boolean) } };
  return {
    input: {
      ...(rule ? { id: rule.id } : {}),
      name: f.name,
      subjectKind: f.subjectKind,
      subjectId: f.subjectId || null,
      triggers: f.triggers,
      channel,
      maxPerWindow: toNumber(f.maxPerWindow),
      windowSeconds: toNumber(f.windowSeconds),
      dedupSeconds: toNumber(f.dedupSeconds),
      enabled: f.enabled,
    },
    needsUrl: f.channelKind === 'webhook' && !f.url.trim() && !keepSecret,
  };
}

/** Every problem at once, keyed like the main process's field errors. */
export function validateAlertRule(f: FormState, rule: AlertRuleView | null): Record<string, string> {
  const { input, needsUrl } = buildInput(f, rule);
  const parsed = AlertRuleInput.safeParse(input);
  const errors: Record<string, string> = parsed.success ? {} : zodFieldErrors(parsed.error.issues);
  if (needsUrl) errors['channel.secret'] = 'the webhook URL is required';
  if (f.subjectKind === 'runner' && f.triggers.includes('missed')) errors.triggers = 'runners have no schedule to miss';
  return errors;
}

export function AlertRuleForm({ rule, onClose }: { rule: AlertRuleView | null; onClose: () => void }) {
  const subjects = useAlertsStore((s) => s.subjects);
  const save = useAlertsStore((s) => s.save);
  const [form, setForm] = useState<FormState>(() => initialState(rule));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));
  const err = (name: string) => fieldError(errors, name);

  const submit = async () => {
    const found = validateAlertRule(form, rule);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setMessage(`Please correct ${Object.keys(found).length} field${Object.keys(found).length > 1 ? 's' : ''}.`);
      return;
    }
    setBusy(true);
    const failed = await save(buildInput(form, rule).input as never);
    setBusy(false);
    if (!failed) {
      onClose();
      return;
    }
    setErrors(failed.fields);
    setMessage(failed.message);
  };

  const storedSecret = rule !== null && rule.hasSecret && rule.channelKind === form.channelKind;
  const other = unclaimedErrors(errors, CLAIMED);
  return (
    <Dialog
      title={rule ? `Edit alert rule “${rule.name}”` : 'New alert rule'}
      onClose={onClose}
      busy={busy}
      wide
      actions={
        <>
          <Button onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void submit()}>
            Save rule
          </Button>
        </>
      }
    >
      <form className="alert-rule-form" aria-label="Alert rule" onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        {message && (
          <p className="form-error" role="alert">
            {message}
            {other.length > 0 && ` ${other.join('; ')}`}
          </p>
        )}
        <div className="form-grid">
          <Field label="Name" error={err('name')}>
            {({ id, describedBy, invalid }) => <input id={id} value={form.name} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('name', e.target.value)} placeholder="Backups to #ops" />}
          </Field>
          <Field label="Watches" error={err('subjectKind')}>
            {({ id, describedBy }) => (
              <select id={id} value={form.subjectKind} aria-describedby={describedBy} onChange={(e) => setForm((f) => ({ ...f, subjectKind: e.target.value as AlertSubjectKind, subjectId: '' }))}>
                <option value="event">Events</option>
                <option value="workflow">Workflows</option>
                <option value="runner">Runners</option>
              </select>
            )}
          </Field>
          <Field label={form.subjectKind === 'runner' ? 'Server' : form.subjectKind === 'workflow' ? 'Workflow' : 'Event'} error={err('subjectId')}>
            {({ id, describedBy, invalid }) => (
              <select id={id} value={form.subjectId} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('subjectId', e.target.value)}>
                <option value="">Any</option>
                {subjects[form.subjectKind].map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Field label="Triggers" error={err('triggers')}>
          {({ id, describedBy }) => (
            <div id={id} className="chip-row" role="group" aria-describedby={describedBy}>
              {TRIGGERS.map(([t, label]) => (
                <label key={t} className="checkbox-item">
                  <input
                    type="checkbox"
                    checked={form.triggers.includes(t)}
                    onChange={(e) => set('triggers', e.target.checked ? [...form.triggers, t] : form.triggers.filter((x) => x !== t))}
                  />
                  {label}
                </label>
              ))}
            </div>
          )}
        </Field>
        <div className="form-grid">
          <Field label="Channel" error={err('channel.kind')}>
            {({ id, describedBy }) => (
              <select id={id} value={form.channelKind} aria-describedby={describedBy} onChange={(e) => set('channelKind', e.target.value as ChannelKind)}>
                <option value="webhook">Webhook</option>
                <option value="email">E-mail (SMTP)</option>
                <option value="command">Command on this workstation</option>
              </select>
            )}
          </Field>
          {form.channelKind === 'webhook' && (
            <Field label="Payload" error={err('channel.config.format')}>
              {({ id, describedBy }) => (
                <select id={id} value={form.format} aria-describedby={describedBy} onChange={(e) => set('format', e.target.value as FormState['format'])}>
                  <option value="json">Generic JSON</option>
                  <option value="slack">Slack</option>
                  <option value="teams">Microsoft Teams</option>
                </select>
              )}
            </Field>
          )}
        </div>
        {form.channelKind === 'webhook' && (
          <Field
            label="Webhook URL"
            error={err('channel.secret')}
            help={storedSecret ? `Stored in the keychain (${rule?.target}); leave empty to keep it.` : 'Kept in the OS keychain (it usually contains a token); never shown again.'}
          >
            {({ id, describedBy, invalid }) => (
              <input id={id} type="password" autoComplete="off" value={form.url} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('url', e.target.value)} placeholder="https://hooks.example.com/services/…" />
            )}
          </Field>
        )}
        {form.channelKind === 'email' && (
          <>
            <div className="form-grid">
              <Field label="SMTP host" error={err('channel.config.host')}>
                {({ id, describedBy, invalid }) => <input id={id} value={form.host} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('host', e.target.value)} placeholder="smtp.example.com" />}
              </Field>
              <Field label="Port" error={err('channel.config.port')}>
                {({ id, describedBy, invalid }) => <input id={id} inputMode="numeric" value={form.port} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('port', e.target.value)} />}
              </Field>
              <Field label="Security" error={err('channel.config.security')} help={form.security === 'none' ? 'Plain SMTP sends the password in clear: only for a relay on this machine or a trusted network.' : undefined}>
                {({ id, describedBy }) => (
                  <select id={id} value={form.security} aria-describedby={describedBy} onChange={(e) => set('security', e.target.value as FormState['security'])}>
                    <option value="starttls">STARTTLS (port 587)</option>
                    <option value="tls">TLS (port 465)</option>
                    <option value="none">None (plain SMTP)</option>
                  </select>
                )}
              </Field>
              <Field label="User name" error={err('channel.config.username')}>
                {({ id, describedBy }) => <input id={id} value={form.username} aria-describedby={describedBy} onChange={(e) => set('username', e.target.value)} autoComplete="off" />}
              </Field>
              <Field label="Password" error={err('channel.secret')} help={storedSecret ? 'Stored in the keychain; leave empty to keep it.' : 'Kept in the OS keychain.'}>
                {({ id, describedBy }) => <input id={id} type="password" autoComplete="off" value={form.password} aria-describedby={describedBy} onChange={(e) => set('password', e.target.value)} />}
              </Field>
              <Field label="From" error={err('channel.config.from')}>
                {({ id, describedBy, invalid }) => <input id={id} value={form.from} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('from', e.target.value)} placeholder="cronium@example.com" />}
              </Field>
            </div>
            <Field label="To" error={err('channel.config.to')} help="One or more addresses, separated by commas.">
              {({ id, describedBy, invalid }) => <input id={id} value={form.to} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('to', e.target.value)} placeholder="ops@example.com" />}
            </Field>
          </>
        )}
        {form.channelKind === 'command' && (
          <div className="form-grid">
            <Field label="Program" error={err('channel.config.command')} help="An absolute path; run without a shell, the alert as JSON on stdin.">
              {({ id, describedBy, invalid }) => <input id={id} className="mono" value={form.command} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('command', e.target.value)} placeholder="/usr/local/bin/page-oncall" />}
            </Field>
            <Field label="Arguments" error={err('channel.config.args')} help="One per line.">
              {({ id, describedBy }) => <textarea id={id} className="mono" rows={2} value={form.args} aria-describedby={describedBy} onChange={(e) => set('args', e.target.value)} />}
            </Field>
          </div>
        )}
        <div className="form-grid">
          <Field label="At most (alerts)" error={err('maxPerWindow')}>
            {({ id, describedBy, invalid }) => <input id={id} inputMode="numeric" value={form.maxPerWindow} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('maxPerWindow', e.target.value)} />}
          </Field>
          <Field label="Per (seconds)" error={err('windowSeconds')}>
            {({ id, describedBy, invalid }) => <input id={id} inputMode="numeric" value={form.windowSeconds} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('windowSeconds', e.target.value)} />}
          </Field>
          <Field label="Same alert again after (seconds)" error={err('dedupSeconds')} help="0 sends every repeat.">
            {({ id, describedBy, invalid }) => <input id={id} inputMode="numeric" value={form.dedupSeconds} aria-invalid={invalid || undefined} aria-describedby={describedBy} onChange={(e) => set('dedupSeconds', e.target.value)} />}
          </Field>
        </div>
        <label className="checkbox-item">
          <input type="checkbox" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} /> Enabled
        </label>
      </form>
    </Dialog>
  );
}
