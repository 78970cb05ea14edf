/**
 * V8 tuning for the processes that carry log floods: the app's core (createCore calls it, wherever the core runs: the
 * Electron main process, serve mode, benches, tests); the runner's entry point sets the same flag (it shares no code
 * with src-main).
 *
 * Both make one small object per output line, alive a few milliseconds (until its batch is written or sent). After a
 * quiet spell V8 has shrunk its young generation, so at the start of a flood most of those objects are still alive at
 * each young-generation collection; allocation-site pretenuring then decides the site makes long-lived objects and
 * allocates them straight in the old generation, where each costs a full mark-compact. Measured with the direct-ssh
 * bench (1,000,000 lines stored after 30 warm-up jobs and 30 external ssh runs): 650-680 ms with pretenuring, 340-400
 * ms without. Neither process builds large numbers of long-lived objects in a burst, which is what pretenuring is for.
 *
 * V8 reads this flag at each collection, so setting it after start takes effect for every allocation site not tenured
 * yet (createCore runs before any log is stored). The Electron main process has no other way (`--js-flags` would have
 * to be on its command line); Electron, like Node, starts V8 with `--no-freeze-flags-after-init` so that Node's
 * v8.setFlagsFromString works (electron/electron#42414 keeps that flag applied).
 */
import v8 from 'node:v8';

let tuned = false;

export function tuneV8ForLogStreams(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
