/**
 * `cronium-runner version`: prints RunnerVersionInfo as one JSON line. The app runs it as the deployment handshake,
 * so it must print nothing else on stdout and must not touch the disk.
 */
import { RUNNER_CAPABILITIES, RUNNER_PROTOCOL_VERSION, RUNNER_VERSION, type RunnerVersionInfo } from '../../src-shared/protocol/runner-info';
import { runtimeKind } from '../runtime-kind';
import type { RunnerCommand } from './command';

export function versionInfo(): RunnerVersionInfo {
  return {
    version: RUNNER_VERSION,
    protocolVersion: RUNNER_PROTOCOL_VERSION,
    os: process.platform,
    arch: process.arch,
    capabilities: [...RUNNER_CAPABILITIES],
    kind: runtimeKind(),
  };
}

export const versionCommand: RunnerCommand = {
  summary: 'print version, protocol version, os, arch, capabilities and kind as JSON',
  async run(_args, io) {
    io.stdout(JSON.stringify(versionInfo()) + '\n');
    return 0;
  },
};
