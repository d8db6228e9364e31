// Stopping when whatever started us is gone: the bot under `npm start`, a shard under the
// sharding manager, the manager under `npm run start:sharded`.

/**
 * When whatever started us dies without passing a signal on (npm killed with SIGKILL, a crashed
 * supervisor or sharding manager), we would keep running unseen beside a restarted copy: call
 * `onGone` when the parent goes.
 */
export function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      onGone();
    }
  }, 500);
  timer.unref();
}
