/**
 * App updates card (Settings pane): the running version, what the update feed offers, and the "check", "download"
 * and "restart to update" buttons of the desktop build. In serve mode (and an unpackaged build) it says that updates
 * apply to the desktop build only and offers no button. Channel and feed URL are settings fields.
 */
import { useEffect } from 'react';
import { Button } from '../components/Button';
import { Card } from '../components/Card';
import { useRolloutStore } from '../stores/rollout-store';

const STATE_WORDS: Record<string, string> = {
  idle: 'Not checked yet.',
  checking: 'Checking for updates…',
  available: 'An update is available.',
  'not-available': 'Cronium is up to date.',
  downloading: 'Downloading the update…',
  downloaded: 'The update is downloaded: restart to install it.',
  error: 'The last update step failed.',
};

export function AppUpdatesCard() {
  const update = useRolloutStore((s) => s.update);
  const loadUpdate = useRolloutStore((s) => s.loadUpdate);
  const act = useRolloutStore((s) => s.updateAction);
  useEffect(() => {
    void loadUpdate();
  }, [loadUpdate]);
  if (!update) return null;
  return (
    <Card title="App updates">
      <p data-update-state={update.state}>
        Cronium {update.currentVersion}, {update.channel} channel.{' '}
        {update.state === 'unsupported' ? update.message : STATE_WORDS[update.state]}
        {update.availableVersion && update.state !== 'unsupported' && ` Version ${update.availableVersion}.`}
        {update.state === 'downloading' && update.percent !== null && ` ${update.percent}%`}
      </p>
      {update.state === 'error' && update.message && <p className="form-error">{update.message}</p>}
      {update.state !== 'unsupported' && (
        <div className="form-actions">
          <Button onClick={() => void act('check')} busy={update.state === 'checking'}>
            Check for updates
          </Button>
          <Button onClick={() => void act('download')} disabled={update.state !== 'available' && update.state !== 'error'} busy={update.state === 'downloading'}>
            Download
          </Button>
          <Button variant="primary" onClick={() => void act('install')} disabled={update.state !== 'downloaded'}>
            Restart to update
          </Button>
        </div>
      )}
    </Card>
  );
}
