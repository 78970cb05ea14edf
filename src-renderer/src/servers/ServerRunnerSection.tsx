/**
 * ServerRunnerSection: the slot in a server's details where the runner feature shows the server's runner (version,
 * health, deploy / upgrade / roll back). The Servers feature only places it; the runner feature fills it in this file.
 */
import type { ServerView } from '../../../src-shared/contract/servers';

export function ServerRunnerSection({ server }: { server: ServerView }) {
  return (
    <section className="detail-section" data-slot="runner-section" data-server-id={server.id} aria-label="Runner">
      <h3 className="detail-section-title">Runner</h3>
      <p className="muted">No runner information yet for {server.name}.</p>
    </section>
  );
}
