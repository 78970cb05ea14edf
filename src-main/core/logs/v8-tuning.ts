/**
 * V8 tuning for a process that stores log streams (the core calls it once, wherever it runs: the Electron main
 * process, serve mode, the benches and tests). Storing a flood of output makes one small object per line that lives
 * a few milliseconds, until its batch is written. After the app has been idle a while V8 has shrunk its young
 * generation, so at the start of a flood most of those objects are still alive at each young-generation collection,
 * and allocation-site pretenuring then decides that the site makes long-lived objects and allocates them straight in
 * the old generation, where every one of them costs a full mark-compact. Measured on the direct-ssh bench (1,000,000
 * lines after 30 warm-up jobs and 30 external ssh runs): 652-679 ms with pretenuring, 350-399 ms without it. Nothing
 * in the app keeps large numbers of long-lived objects made in a burst, which is what pretenuring is for.
 *
 * V8 reads this flag at each collection, so setting it after start takes effect (Electron gives the main process no
 * other way: `--js-flags` must be on its command line).
 */
import v8 from 'node:v8';

let tuned = false;

export function tuneV8ForLogStreams(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
