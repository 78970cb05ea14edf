/**
 * ServerDetails: one server's facts, its last connection result and latency, and "Test connection" with the host-key
 * decisions it may need: trust on first use (the SHA256 fingerprint shown, then pinned) or, for a changed key, a
 * refusal showing both fingerprints and a separate, explicit re-trust. It never trusts a key the user did not see.
 */
import { useState } from 'react';
import type { ConnectionTestResult, ServerView } from '../../../src-shared/contract/servers';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { ConfirmDialog, Dialog } from '../components/Dialog';
import { formatAge, formatTime } from '../components/format';
import { useServersStore } from '../stores/servers-store';
import { ServerRunnerSection } from './ServerRunnerSection';

function TestResult({ result }: { result: ConnectionTestResult }) {
  switch (result.status) {
    case 'ok':
      return (
        <div className="test-result test-ok" role="status" data-testid="connection-result">
          <Badge tone="success">Connected</Badge> <span>{result.latencyMs} ms</span>
          <p className="muted">{result.message}</p>
        </div>
      );
    case 'untrusted':
      return (
        <div className="test-result test-warning" role="status" data-testid="connection-result">
          <Badge tone="warning">Host key not trusted yet</Badge>
          <p className="muted">{result.message}</p>
        </div>
      );
    case 'changed':
      return null; // shown as its own refusal card
    case 'error':
      return (
        <div className="test-result test-error" role="alert" data-testid="connection-result">
          <Badge tone="danger">Failed</Badge> <code>{result.code}</code>
          <p>{result.message}</p>
        </div>
      );
  }
}

function HostKeyChanged({ server, result, onRetrusted }: { server: ServerView; result: Extract<ConnectionTestResult, { status: 'changed' }>; onRetrusted: () => void }) {
  const trust = useServersStore((s) => s.trust);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const retrust = async () => {
    setBusy(true);
    const ok = await trust(server.id, result.actual, true);
    setBusy(false);
    setConfirming(false);
    if (ok) onRetrusted();
  };
  return (
    <section className="host-key-changed" role="alert" aria-label="Host key changed">
      <h3>Host key changed: connection refused</h3>
      <p>
        {server.name} presented a different host key than the one pinned. Cronium refused the connection before sending any credential. This happens
        when the server was reinstalled or its keys rotated, and also when someone intercepts the connection.
      </p>
      <dl className="facts fingerprint-facts">
        <dt>Pinned (expected)</dt>
        <dd>
          <code data-testid="expected-fingerprint">{result.expected}</code>
        </dd>
        <dt>Presented now</dt>
        <dd>
          <code data-testid="actual-fingerprint">{result.actual}</code>
        </dd>
      </dl>
      <p className="muted">Check the new fingerprint with the server's administrator (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before trusting it.</p>
      <Button variant="danger" onClick={() => setConfirming(true)}>
        Re-trust new key…
      </Button>
      {confirming && (
        <ConfirmDialog title={`Replace the pinned host key of ${server.name}?`} confirmLabel="Replace pinned key" busy={busy} onCancel={() => setConfirming(false)} onConfirm={() => void retrust()}>
          <p>
            Cronium will forget <code>{result.expected}</code> and trust <code>{result.actual}</code> for {server.host}:{server.port} from now on.
          </p>
          <p>Only do this if you have confirmed the new fingerprint is the server's real key.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function TrustDialog({ server, result, onClose, onTrusted }: { server: ServerView; result: Extract<ConnectionTestResult, { status: 'untrusted' }>; onClose: () => void; onTrusted: () => void }) {
  const trust = useServersStore((s) => s.trust);
  const [busy, setBusy] = useState(false);
  const accept = async () => {
    setBusy(true);
    const ok = await trust(server.id, result.fingerprint, false);
    setBusy(false);
    if (ok) onTrusted();
  };
  return (
    <Dialog
      title={`Trust the host key of ${server.name}?`}
      onClose={onClose}
      busy={busy}
      actions={
        <>
          <Button onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button variant="primary" busy={busy} onClick={() => void accept()}>
            Trust and connect
          </Button>
        </>
      }
    >
      <p>
        This is the first connection to {server.host}:{server.port}. Compare the fingerprint below with the server's own
        (<code>ssh-keygen -lf</code> on its host key) before trusting it; Cronium pins it and refuses any other key later.
      </p>
      <dl className="facts fingerprint-facts">
        <dt>Algorithm</dt>
        <dd data-testid="host-key-algorithm">{result.algorithm}</dd>
        <dt>Fingerprint</dt>
        <dd>
          <code className="fingerprint" data-testid="host-key-fingerprint">
            {result.fingerprint}
          </code>
        </dd>
      </dl>
    </Dialog>
  );
}

export function ServerDetails({ server, onEdit, onDelete }: { server: ServerView; onEdit: () => void; onDelete: () => void }) {
  const test = useServersStore((s) => s.test);
  const result = useServersStore((s) => s.tests[server.id]);
  const testing = useServersStore((s) => s.testing[server.id] === true);
  const [trustFor, setTrustFor] = useState<Extract<ConnectionTestResult, { status: 'untrusted' }> | null>(null);

  const runTest = async () => {
    const r = await test(server.id);
    if (r?.status === 'untrusted') setTrustFor(r);
  };
  const last = server.lastConnection;

  return (
    <article className="detail-card" aria-label={`Server ${server.name}`}>
      <header className="detail-header">
        <div>
          <h2 className="detail-title">{server.name}</h2>
          <p className="muted mono">
            {server.username}@{server.host}:{server.port}
          </p>
        </div>
        <div className="detail-actions">
          <Button variant="primary" busy={testing} onClick={() => void runTest()}>
            Test connection
          </Button>
          <Button onClick={onEdit}>Edit</Button>
          <Button variant="ghost" onClick={onDelete}>
            Delete
          </Button>
        </div>
      </header>

      {result && <TestResult result={result} />}
      {result?.status === 'changed' && <HostKeyChanged server={server} result={result} onRetrusted={() => void runTest()} />}

      <section className="detail-section">
        <h3 className="detail-section-title">Connection</h3>
        <dl className="facts">
          <dt>Authentication</dt>
          <dd>
            {server.authType === 'agent' ? (
              <>
                ssh-agent (SSH_AUTH_SOCK){' '}
                {server.agentForwarding && <Badge tone="warning">agent forwarding on</Badge>}
              </>
            ) : (
              <>
                {server.authType === 'key' ? 'Private key' : 'Password'}{' '}
                {server.hasCredential ? <Badge tone="success">in keychain</Badge> : <Badge tone="warning">missing</Badge>}
              </>
            )}
          </dd>
          <dt>Jump hosts</dt>
          <dd data-testid="jump-hosts">{server.jumpHosts.length ? server.jumpHosts.map((h) => h.name).join(' → ') : <span className="muted">none (direct)</span>}</dd>
          <dt>Host key</dt>
          <dd>{server.hostKeyFingerprint ? <code data-testid="pinned-fingerprint">{server.hostKeyFingerprint}</code> : <span className="muted" data-testid="host-key-pending">awaiting your approval: run Test connection to see its fingerprint</span>}</dd>
          <dt>Last connection</dt>
          <dd data-testid="last-connection">
            {last ? (
              <>
                {last.ok ? <Badge tone="success">ok</Badge> : <Badge tone="danger">failed</Badge>}{' '}
                {last.latencyMs !== null && <span data-testid="last-latency">{Math.round(last.latencyMs)} ms</span>}{' '}
                <span className="muted" title={formatTime(last.at)}>
                  {formatAge(last.at)}
                </span>
                {last.message && !last.ok && <p className="detail-message">{last.message}</p>}
              </>
            ) : (
              <span className="muted">never tested</span>
            )}
          </dd>
          <dt>Max concurrent jobs</dt>
          <dd>{server.maxConcurrentJobs}</dd>
          <dt>Tags</dt>
          <dd>{server.tags.length ? server.tags.map((t) => <span key={t} className="tag">{t}</span>) : <span className="muted">none</span>}</dd>
        </dl>
      </section>

      <ServerRunnerSection server={server} />

      {trustFor && (
        <TrustDialog
          server={server}
          result={trustFor}
          onClose={() => setTrustFor(null)}
          onTrusted={() => {
            setTrustFor(null);
            void runTest();
          }}
        />
      )}
    </article>
  );
}
