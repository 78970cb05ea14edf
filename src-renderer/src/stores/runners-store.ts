/**
 * Runners store: the artifacts this workstation can deploy, every deployment (grouped per server by selectors), the
 * progress line of an action in flight per server, and the deploy / upgrade / roll back / remove / check actions.
 * It refreshes on 'runners/changed' and keeps the last 'runners/progress' message per server; it holds no secret.
 */
import { create } from 'zustand';
import type {
  RunnerArtifactsView,
  RunnerDeploymentView,
  RunnerUpgradeResult,
} from '../../../src-shared/contract/runners';
import { errorMessage, invoke, onEvent } from '../rpc/client';
import { toast } from './toast-store';

export type RunnerAction = 'deploy' | 'upgrade' | 'rollback' | 'remove' | 'check';

interface RunnersStore {
  artifacts: RunnerArtifactsView | null;
  deployments: RunnerDeploymentView[];
  loaded: boolean;
  loading: boolean;
  error: string | null;
  /** The last progress message per server while an action runs. */
  progress: Record<string, string | undefined>;
  /** The action running per server. */
  busy: Record<string, RunnerAction | undefined>;
  load: () => Promise<void>;
  deploy: (serverId: string, version?: string) => Promise<boolean>;
  /** Deploys to every given server, settings.runner.deployParallelism at a time; progress shows per server. */
  deployMany: (serverIds: string[]) => Promise<boolean>;
  upgrade: (serverId: string, version: string) => Promise<RunnerUpgradeResult | null>;
  rollback: (serverId: string) => Promise<boolean>;
  remove: (serverId: string) => Promise<boolean>;
  checkHealth: (serverId: string, deploymentId: string) => Promise<boolean>;
}

let stopListening: (() => void) | undefined;
let reloadTimer: ReturnType<typeof setTimeout> | undefined;

/** The deployment that represents a server now: the active one, else the newest (which says why there is none). */
export function currentDeployment(deployments: RunnerDeploymentView[], serverId: string): RunnerDeploymentView | null {
  const mine = deployments.filter((d) => d.serverId === serverId);
  return mine.find((d) => d.status === 'active') ?? mine.find((d) => d.status === 'updating') ?? mine[0] ?? null;
}

export function deploymentsOf(deployments: RunnerDeploymentView[], serverId: string): RunnerDeploymentView[] {
  return deployments.filter((d) => d.serverId === serverId);
}

export const useRunnersStore = create<RunnersStore>((set, get) => {
  const run = async <T>(serverId: string, action: RunnerAction, work: () => Promise<T>): Promise<T | null> => {
    set((s) => ({ busy: { ...s.busy, [serverId]: action }, progress: { ...s.progress, [serverId]: undefined } }));
    try {
      return await work();
    } catch (err) {
      toast.error(errorMessage(err));
      return null;
    } finally {
      set((s) => ({ busy: { ...s.busy, [serverId]: undefined }, progress: { ...s.progress, [serverId]: undefined } }));
      await get().load();
    }
  };

  return {
    artifacts: null,
    deployments: [],
    loaded: false,
    loading: false,
    error: null,
    progress: {},
    busy: {},

    load: async () => {
      if (!stopListening) {
        const offChanged = onEvent('runners/changed', () => {
          // Health checks of many servers arrive together: one reload for the burst.
          clearTimeout(reloadTimer);
          reloadTimer = setTimeout(() => void get().load(), 150);
        });
        const offProgress = onEvent('runners/progress', ({ serverId, message }) => {
          set((s) => ({ progress: { ...s.progress, [serverId]: message } }));
        });
        stopListening = () => {
          offChanged();
          offProgress();
        };
      }
      set({ loading: true });
      try {
        const [artifacts, deployments] = await Promise.all([invoke('runners/artifacts'), invoke('runners/deployments', {})]);
        set({ artifacts, deployments, loaded: true, loading: false, error: null });
      } catch (err) {
        set({ loading: false, error: errorMessage(err) });
      }
    },

    deploy: async (serverId, version) => {
      const view = await run(serverId, 'deploy', () => invoke('runners/deploy', version ? { serverId, version } : { serverId }));
      if (view) toast.info(`Runner ${view.version} is active on ${view.serverName ?? 'the server'}${view.transferredBytes === 0 ? ' (nothing transferred)' : ''}.`);
      return view !== null;
    },

    deployMany: async (serverIds) => {
      if (serverIds.length === 0) return false;
      set((s) => ({
        busy: { ...s.busy, ...Object.fromEntries(serverIds.map((id) => [id, 'deploy' as const])) },
        progress: { ...s.progress, ...Object.fromEntries(serverIds.map((id) => [id, 'Waiting for a free deploy slot'])) },
      }));
      try {
        const results = await invoke('runners/deployMany', { serverIds });
        const failed = results.filter((r) => !r.ok);
        if (failed.length === 0) toast.info(`Runner active on ${results.length} server${results.length === 1 ? '' : 's'}.`);
        else toast.error(`Runner deploy failed on ${failed.length} of ${results.length} servers: ${failed[0]!.error ?? 'see the server rows'}`);
        return failed.length === 0;
      } catch (err) {
        toast.error(errorMessage(err));
        return false;
      } finally {
        set((s) => ({
          busy: { ...s.busy, ...Object.fromEntries(serverIds.map((id) => [id, undefined])) },
          progress: { ...s.progress, ...Object.fromEntries(serverIds.map((id) => [id, undefined])) },
        }));
        await get().load();
      }
    },

    upgrade: async (serverId, version) => {
      const result = await run(serverId, 'upgrade', () => invoke('runners/upgrade', { serverId, version }));
      if (result && !result.rolledBack) toast.info(`Runner upgraded to ${result.deployment.version}.`);
      // A rollback is announced by the core's own notice.
      return result;
    },

    rollback: async (serverId) => {
      const view = await run(serverId, 'rollback', () => invoke('runners/rollback', { serverId }));
      if (view) toast.info(`Rolled back to runner ${view.version}.`);
      return view !== null;
    },

    remove: async (serverId) => (await run(serverId, 'remove', () => invoke('runners/remove', { serverId }))) !== null,

    checkHealth: async (serverId, deploymentId) => (await run(serverId, 'check', () => invoke('runners/checkHealth', { deploymentId }))) !== null,
  };
});
