// A small stand-in for the browser globals the SDK touches, for the Node test runner.
// Each call to browser() installs a fresh window, document, navigator, storage and fetch.

export class MemoryStorage {
  constructor() {
    this.map = new Map();
    this.writes = 0;
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.writes++;
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.writes++;
    this.map.delete(k);
  }
  keys() {
    return [...this.map.keys()];
  }
}

const set = (name, value) => Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });

/**
 * Install browser globals. `answer(request)` decides each fetch's response: a status number,
 * `{status, retryAfter}`, or a thrown error for a network failure. Returns the recorders.
 */
export function browser({ url = "https://shop.example/", referrer = "", title = "Shop", storage, answer, online = true } = {}) {
  const win = new EventTarget();
  const doc = new EventTarget();
  let href = url;
  const requests = [];
  const beacons = [];
  const env = { requests, beacons, storage: storage || new MemoryStorage(), win, doc, online };
  set("window", globalThis);
  set("addEventListener", win.addEventListener.bind(win));
  set("dispatchEvent", win.dispatchEvent.bind(win));
  Object.assign(doc, { referrer, title, visibilityState: "visible" });
  set("document", doc);
  set("location", {
    get href() {
      return href;
    },
  });
  set("history", {
    pushState(_s, _t, to) {
      href = new URL(to, href).href;
    },
    replaceState(_s, _t, to) {
      href = new URL(to, href).href;
    },
  });
  set("navigator", {
    language: "de-DE",
    userAgent: "NodeTest/1.0",
    get onLine() {
      return env.online;
    },
    sendBeacon(to, body) {
      beacons.push({ url: to, body: JSON.parse(body) });
      return true;
    },
  });
  set("localStorage", env.storage);
  set("fetch", async (to, init) => {
    const body = JSON.parse(init.body);
    requests.push({ url: to, init, body });
    let a = answer ? answer(requests.length, body) : 200;
    if (typeof a == "number") a = { status: a };
    return {
      status: a.status,
      headers: { get: (h) => (h.toLowerCase() == "retry-after" ? (a.retryAfter ?? null) : null) },
      json: async () => ({ accepted: body.events.length, rejected: [], consent_denied: 0 }),
    };
  });
  env.navigate = (to) => {
    href = new URL(to, href).href;
    win.dispatchEvent(new Event("popstate"));
  };
  env.hide = () => {
    doc.visibilityState = "hidden";
    doc.dispatchEvent(new Event("visibilitychange"));
    win.dispatchEvent(new Event("pagehide"));
  };
  env.events = () => requests.flatMap((r) => r.body.events);
  return env;
}

/** Wait until `cond()` is true (polling every 2 ms), or fail after `ms`. */
export async function until(cond, ms = 2000) {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting for " + cond);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
