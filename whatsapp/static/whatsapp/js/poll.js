// One polling loop per page: fast while something is changing, slow when stable, stopped while
// the tab is hidden, and never two requests in flight at once.

export const FAST_MS = 2500;
export const SLOW_MS = 15000;

export class Poller {
  constructor(tick, { isBusy, onPause } = {}) {
    this.tick = tick;
    this.isBusy = isBusy || (() => false);
    this.onPause = onPause || (() => {});
    this.timer = null;
    this.running = false;
    this.again = false;
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) {
        this.pause();
      } else {
        this.now();
      }
    });
  }

  get interval() {
    return this.isBusy() ? FAST_MS : SLOW_MS;
  }

  start() {
    this.schedule();
  }

  pause() {
    clearTimeout(this.timer);
    this.timer = null;
    this.onPause();
  }

  schedule(delay = this.interval) {
    clearTimeout(this.timer);
    this.timer = null;
    if (document.hidden) return;
    this.timer = setTimeout(() => this.run(), delay);
  }

  // Poll at once (after an action, or when the tab comes back) and go on from there.
  now() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  async run() {
    if (this.running) return;
    this.running = true;
    try {
      await this.tick();
    } catch (error) {
      console.warn("[whatsapp] poll failed", error);
    } finally {
      this.running = false;
      const again = this.again;
      this.again = false;
      this.schedule(again ? 0 : this.interval);
    }
  }
}
