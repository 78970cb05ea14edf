// The Settings pane's store against a real serve host and core: loading, saving changed fields only, field errors
// kept at their field with the user's input intact, client-side type errors, and fields pinned by the environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installRpcClient, RpcClient } from '../../../src-renderer/src/rpc/client';
import { WsTransport } from '../../../src-renderer/src/rpc/ws-transport';
import { buildPatch, useSettingsStore } from '../../../src-renderer/src/stores/settings-store';
import { SETTINGS_FIELDS } from '../../../src-renderer/src/stores/settings-fields';
import { useToastStore } from '../../../src-renderer/src/stores/toast-store';
import { FeatureFlag, RunnerSettings } from '../../../src-shared/contract/settings';
import { startRendererTestHost, waitFor, type RendererTestHost } from './serve-fixture';

let t: RendererTestHost;
let transport: WsTransport;
beforeAll(async () => {
  t = await startRendererTestHost({ RUNNER_DEFAULT_VERSION: '2.3.4' });
  transport = new WsTransport({ url: t.rpcUrl, createSocket: t.createSocket });
  installRpcClient(new RpcClient(transport));
  await useSettingsStore.getState().load();
});
afterAll(async () => {
  transport?.close();
  await t?.cleanup();
});

const store = () => useSettingsStore.getState();

describe('settings store', () => {
  describe('when the pane opens', () => {
    it('fills the form with the effective settings and knows the pinned fields', () => {
      expect(store().form['runner.cacheTtlDays']).toBe('90');
      expect(store().form['flags.ssh_runner_fallback']).toBe(true);
      expect(store().form['runner.defaultVersion']).toBe('2.3.4');
      expect(store().view?.overrides['runner.defaultVersion']).toBe('RUNNER_DEFAULT_VERSION');
    });

    it('has a form field for every RunnerSettings field and every feature flag', () => {
      const paths = new Set(SETTINGS_FIELDS.map((f) => f.path));
      for (const key of Object.keys(RunnerSettings.shape)) {
        if (key === 'health') continue;
        expect(paths).toContain(`runner.${key}`);
      }
      for (const key of Object.keys(RunnerSettings.shape.health.shape)) expect(paths).toContain(`runner.health.${key}`);
      for (const flag of FeatureFlag.options) expect(paths).toContain(`flags.${flag}`);
    });
  });

  describe('when the user changes fields and saves', () => {
    it('sends only what changed, saves it in the database and confirms with a toast', async () => {
      store().setField('runner.cacheTtlDays', '30');
      store().setField('flags.ssh_runner_auto_deploy', false);
      const built = buildPatch(store().view!, store().form);
      expect(built).toEqual({ patch: { runner: { cacheTtlDays: 30 }, flags: { ssh_runner_auto_deploy: false } } });
      expect(await store().save()).toBe(true);
      const saved = t.testCore.core.settings.current();
      expect(saved.runner.cacheTtlDays).toBe(30);
      expect(saved.flags.ssh_runner_auto_deploy).toBe(false);
      expect(useToastStore.getState().toasts.at(-1)).toMatchObject({ level: 'success', message: 'Settings saved.' });
    });
  });

  describe('when the user enters a value the app refuses', () => {
    it('shows the main process error at the field, keeps the input, and saves nothing', async () => {
      store().setField('runner.healthCheckInterval', '1');
      store().setField('runner.cacheTtlDays', '45');
      expect(await store().save()).toBe(false);
      expect(store().fieldErrors['runner.healthCheckInterval']).toBeTruthy();
      expect(store().form['runner.healthCheckInterval']).toBe('1');
      expect(store().form['runner.cacheTtlDays']).toBe('45');
      expect(store().formError).toBeTruthy();
      expect(t.testCore.core.settings.current().runner.healthCheckInterval).toBe(60);
      expect(t.testCore.core.settings.current().runner.cacheTtlDays).toBe(30);
    });

    it('clears a field error as soon as the user edits that field', () => {
      store().setField('runner.healthCheckInterval', '120');
      expect(store().fieldErrors['runner.healthCheckInterval']).toBeUndefined();
    });

    it('refuses text that is not a number before sending anything', async () => {
      store().setField('runner.downloadTimeout', 'soon');
      expect(await store().save()).toBe(false);
      expect(store().fieldErrors['runner.downloadTimeout']).toBe('must be a number');
      store().reset();
      expect(store().form['runner.downloadTimeout']).toBe('30');
    });
  });

  describe('when a field is pinned by the environment', () => {
    it('never sends it, even if the form value differs', () => {
      store().setField('runner.defaultVersion', '9.9.9');
      expect(buildPatch(store().view!, store().form)).toEqual({ patch: {} });
      store().reset();
    });
  });

  describe('when the settings change elsewhere', () => {
    it('follows the pushed values for untouched fields and keeps the user\'s edits', async () => {
      store().setField('runner.deploymentTimeout', '300');
      t.testCore.core.settings.update({ runner: { downloadTimeout: 99, deploymentTimeout: 200 } });
      await waitFor(() => store().view?.settings.runner.downloadTimeout === 99);
      expect(store().form['runner.downloadTimeout']).toBe('99');
      expect(store().form['runner.deploymentTimeout']).toBe('300');
      store().reset();
    });
  });
});
