/** ConnectionBanner: shown while the transport is down (serve mode), with what is happening and a way to retry now. */
import { useConnectionStore } from '../stores/connection-store';
import { Button } from './Button';

export function ConnectionBanner() {
  const state = useConnectionStore((s) => s.state);
  const sessions = useConnectionStore((s) => s.sessions);
  const retryNow = useConnectionStore((s) => s.retryNow);
  if (state === 'connected' || (state === 'connecting' && sessions === 0)) return null;
  const message =
    state === 'disconnected'
      ? 'Disconnected from Cronium. If serve mode was restarted, open the new URL it printed: the access token changes at every start.'
      : sessions === 0
        ? 'Connecting to Cronium…'
        : 'Connection to Cronium lost. Reconnecting…';
  return (
    <div className={`connection-banner connection-${state}`} role="status">
      <span>{message}</span>
      <Button variant="ghost" onClick={retryNow}>
        Retry now
      </Button>
    </div>
  );
}
