/**
 * The change list's runner routes on the local listener: the latest artifact for an os/arch, a deployment status
 * report, and a deployment's health. Every route requires a bearer token (audience 'runner' or 'automation'); none
 * ever returns a file path of this workstation or a secret.
 */
import { z } from 'zod';
import { RunnerDeploymentStatus } from '../../../src-shared/contract/runners';
import { AppError } from '../errors';
import type { ListenerAuth } from '../listener/auth';
import type { LocalListener } from '../listener/local-listener';
import { JS_ARTIFACT_PLATFORM, type ArtifactStore } from './artifact-store';
import { compareVersions } from './runner-version';
import type { RunnerService } from './runner-service';
import { healthView } from './runner-deployments';

const StatusReport = z.object({
  /** Which deployment; the server's active one when absent. */
  deploymentId: z.string().min(1).optional(),
  status: RunnerDeploymentStatus.exclude(['removed', 'superseded', 'tampered']),
  message: z.string().max(2000).optional(),
});

export function registerRunnerRoutes(
  listener: LocalListener,
  deps: { runners: RunnerService; artifacts: Pick<ArtifactStore, 'list'>; auth: ListenerAuth },
): void {
  const auth = deps.auth.bearer(['runner', 'automation']);

  listener.addRoute(
    'GET',
    '/api/runners/artifacts/:os/:arch/latest',
    async ({ params }) => {
      await deps.runners.ready();
      const all = await deps.artifacts.list();
      const fits = all.filter((a) => (a.os === params.os && a.arch === params.arch) || (params.os === JS_ARTIFACT_PLATFORM && a.kind === 'js'));
      const latest = fits.sort((a, b) => compareVersions(b.version, a.version) || (a.kind === 'sea' ? -1 : 1))[0];
      if (!latest) throw new AppError('NOT_FOUND', `There is no runner artifact for ${params.os}-${params.arch}; build one with npm run build:runner.`);
      return {
        status: 200,
        json: {
          id: latest.id,
          version: latest.version,
          os: latest.os,
          arch: latest.arch,
          kind: latest.kind,
          sha256: latest.sha256,
          compressedSha256: latest.compressedSha256,
          size: latest.size,
          compressedSize: latest.compressedSize,
          signature: latest.signature,
          keyId: latest.keyId,
          capabilities: latest.capabilities,
          protocolVersion: latest.protocolVersion,
        },
      };
    },
    { auth },
  );

  listener.addRoute(
    'POST',
    '/api/runners/deployments/:serverId/status',
    async ({ params, body }) => {
      const parsed = StatusReport.safeParse(body);
      if (!parsed.success) {
        throw new AppError('INVALID_INPUT', `A status report is JSON {status: "active"|"failed"|"updating", deploymentId?, message?}: ${parsed.error.issues[0]?.message}`);
      }
      let deploymentId = parsed.data.deploymentId;
      if (deploymentId) {
        const record = await deps.runners.deployments.get(deploymentId);
        if (!record || record.serverId !== params.serverId) {
          throw new AppError('NOT_FOUND', `Deployment ${deploymentId} is not a deployment of server ${params.serverId}.`);
        }
      } else {
        const active = await deps.runners.deployments.active(params.serverId);
        if (!active) throw new AppError('NOT_FOUND', `Server ${params.serverId} has no active runner deployment to report on.`);
        deploymentId = active.id;
      }
      const view = await deps.runners.updateRunnerStatus(deploymentId, parsed.data.status, parsed.data.message);
      return { status: 200, json: view };
    },
    { auth, maxBodyBytes: 16 * 1024 },
  );

  listener.addRoute(
    'GET',
    '/api/runners/health/:deploymentId',
    async ({ params, query }) => {
      const record = await deps.runners.deployments.get(params.deploymentId);
      if (!record) throw new AppError('NOT_FOUND', `There is no runner deployment ${params.deploymentId}.`);
      // ?refresh=1 runs a check now; otherwise the last recorded one is returned.
      const health = query.refresh === '1' ? await deps.runners.checkRunnerHealth(record.id) : healthView(record.metadata);
      return {
        status: 200,
        json: { deploymentId: record.id, serverId: record.serverId, version: record.version, status: record.status, lastHealthCheck: record.lastHealthCheck, health },
      };
    },
    { auth },
  );
}
