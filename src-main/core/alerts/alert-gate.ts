/**
 * The alert gate: decides whether a new alert is sent or folded into an earlier delivery, so a flapping job does not
 * send a hundred mails. Two limits per rule: deduplication (the same rule, trigger and subject within dedupSeconds is
 * one alert) and a rate limit (at most maxPerWindow deliveries per windowSeconds, whatever they are about).
 * Pure: AlertService reads the recent deliveries through AlertStore and records what this decides.
 */

export interface GateLimits {
  maxPerWindow: number;
  windowSeconds: number;
  dedupSeconds: number;
}

export interface RecentDelivery {
  id: string;
  dedupKey: string;
  /** Epoch ms. */
  createdAt: number;
}

export type GateDecision = { send: true } | { send: false; foldInto: string; why: 'duplicate' | 'rate limit' };

/** `recent`: the rule's deliveries, newest first, at least those within max(windowSeconds, dedupSeconds) of now. */
export function decideAlert(limits: GateLimits, now: number, dedupKey: string, recent: readonly RecentDelivery[]): GateDecision {
  if (limits.dedupSeconds > 0) {
    const duplicate = recent.find((d) => d.dedupKey === dedupKey && now - d.createdAt < limits.dedupSeconds * 1000);
    if (duplicate) return { send: false, foldInto: duplicate.id, why: 'duplicate' };
  }
  const inWindow = recent.filter((d) => now - d.createdAt < limits.windowSeconds * 1000);
  if (inWindow.length >= limits.maxPerWindow) return { send: false, foldInto: inWindow[0]!.id, why: 'rate limit' };
  return { send: true };
}

/** How far back the gate needs to look, in ms. */
export function gateLookbackMs(limits: GateLimits): number {
  return Math.max(limits.windowSeconds, limits.dedupSeconds) * 1000;
}
