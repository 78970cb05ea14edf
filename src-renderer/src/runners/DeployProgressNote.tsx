/**
 * DeployProgressNote: on a job that waits for its server's runner (queued or dispatching), the deploy step in flight
 * (probe, upload with its size, verify, start) from the runners store's 'runners/progress' messages, so the seconds
 * a first auto run spends deploying are never silent. Shows nothing when no deploy is going on for that server.
 */
import { useEffect } from 'react';
import { useRunnersStore } from '../stores/runners-store';

export function DeployProgressNote({ serverId, waiting }: { serverId: string | null | undefined; waiting: boolean }) {
  const message = useRunnersStore((s) => (serverId ? s.progress[serverId] : undefined));
  const loaded = useRunnersStore((s) => s.loaded);
  const load = useRunnersStore((s) => s.load);
  // The store starts listening to progress on its first load.
  useEffect(() => {
    if (waiting && !loaded) void load();
  }, [waiting, loaded, load]);
  if (!waiting || !message) return null;
  return (
    <span className="deploy-progress muted" role="status" data-testid="deploy-progress">
      runner: {message}
    </span>
  );
}
