// The clicklake browser client: builds events of the ingest contract
// (`clicklake schema`), keeps them until consent allows, and delivers them to
// POST /v1/events without losing or doubling any.
//
// Everything here runs inside someone else's page, so every public method is
// wrapped to never throw, storage is touched only when consent allows it, and
// no work is done that could make a long task.

/* global __VERSION__ */
export const VERSION = typeof __VERSION__ == "string" ? __VERSION__ : "dev";

// the nested object that carries each contract event type's own fields
const FIELD = {
  chart_interaction: "chart",
  affiliate_click: "affiliate",
  product_view: "product",
  add_to_cart: "product",
  purchase: "order",
  search: "search",
  qr_scan: "qr",
  custom: "custom",
};
const UTM = ["source", "medium", "campaign", "term", "content"];
// a keepalive fetch and a beacon may carry 64 KB at most, in flight together
const MAX_BODY = 60000;

export const DEFAULTS = {
  key: "",
  host: "",
  requireConsent: false,
  storage: "consent",
  autoPageviews: true,
  hash: false,
  clicks: true,
  sessionTimeout: 30,
  midnight: true,
  honorDnt: false,
  honorGpc: false,
  batchSize: 10,
  flushInterval: 1000,
  maxQueue: 500,
  sampleRate: 1,
  abVariant: "",
  experiments: null,
  beforeSend: null,
  debug: false,
};

/** A random RFC 4122 version 4 id (crypto.randomUUID exists only in secure contexts). */
export const uuid = () =>
  "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );

/** The UTM parameters of a URL's query string (or a hash route's), or undefined. */
export function utmOf(href) {
  let out;
  try {
    const u = new URL(href);
    const q = new URLSearchParams(u.search || u.hash.split("?")[1]);
    for (const k of UTM) {
      const v = q.get("utm_" + k);
      if (v) (out = out || {})[k] = v;
    }
  } catch (e) {}
  return out;
}

/** Milliseconds to wait before retry `n` (from 0): exponential with jitter, never less than Retry-After. */
export function backoff(n, retryAfter, random = Math.random) {
  let s = +retryAfter;
  if (retryAfter && isNaN(s)) s = (Date.parse(retryAfter) - Date.now()) / 1e3;
  const d = Math.min(6e4, 1e3 * 2 ** n);
  return Math.max(Math.min(s * 1e3, 36e5) || 0, d / 2 + (random() * d) / 2);
}

const day = (ms) => Math.floor(ms / 864e5);
const iso = (ms) => new Date(ms).toISOString();

/** Turn `data-cl-prop-*` attributes into properties: dashes become underscores, numbers (but not ids) numbers. */
export function propsOf(el) {
  const out = {};
  for (const a of el.attributes) {
    if (a.name.startsWith("data-cl-prop-")) {
      const k = a.name.slice(13).replace(/-/g, "_");
      const v = a.value;
      // ids stay text even when they look like numbers ("product_id": "123")
      out[k] = /_ids$/.test(k) ? v.split(",") : /_id$/.test(k) || !/^-?\d+(\.\d+)?$/.test(v) ? v : +v;
    }
  }
  return out;
}

export function createClient(options) {
  const o = Object.assign({}, DEFAULTS, options);
  const host = (o.host || "").replace(/\/+$/, "");
  const url = host + "/v1/events?key=" + encodeURIComponent(o.key);
  const log = (...a) => o.debug && console.log("[clicklake]", ...a);

  // first-party storage, all of it under "cl_"; any failure (private mode, sandbox) means "none"
  const store = (k, v) => {
    try {
      if (v === undefined) return JSON.parse(localStorage.getItem("cl_" + k));
      if (v === null) localStorage.removeItem("cl_" + k);
      else localStorage.setItem("cl_" + k, JSON.stringify(v));
    } catch (e) {}
  };

  const nav = navigator;
  const signals = (o.honorDnt && (nav.doNotTrack == "1" || window.doNotTrack == "1")) || (o.honorGpc && nav.globalPrivacyControl === true);
  let consent = o.storage != "none" ? store("consent") : null;
  let queue = []; // events ready to send, oldest first
  let pending = []; // drafts waiting for a consent decision
  let inflight = null; // the batch being sent
  let timer = 0;
  let attempt = 0;
  let waitUntil = 0;
  let sampled;
  let lastUrl = "";
  let referrer = document.referrer;
  let uid = null;
  const landingUtm = utmOf(location.href);

  const allowed = () => !signals && (consent ? consent.analytics : !o.requireConsent);
  const undecided = () => !signals && !consent && o.requireConsent;
  const persist = () => allowed() && (o.storage == "always" || (o.storage == "consent" && !!consent && consent.analytics));

  function anonymousId() {
    let a = store("aid");
    if (!a) store("aid", (a = uuid()));
    return a;
  }

  function session(now) {
    let s = store("session");
    if (!s || now - s.last > o.sessionTimeout * 6e4 || (o.midnight && day(now) != day(s.start))) {
      s = { id: uuid(), start: now, utm: landingUtm };
    }
    s.last = now;
    store("session", s);
    return s;
  }

  function inSample() {
    if (sampled === undefined) {
      const r = persist() ? parseInt(anonymousId().slice(0, 8), 16) / 2 ** 32 : Math.random();
      sampled = r < o.sampleRate;
    }
    return sampled;
  }

  // storage keeps a copy of the queue so that events survive a reload or going offline;
  // several tabs share it: each adds and removes only its own events, the event_id drops doubles
  function remember(events) {
    if (persist()) store("queue", (store("queue") || []).concat(events).slice(-o.maxQueue));
  }
  function forget(events) {
    const ids = new Set(events.map((e) => e.event_id));
    queue = queue.filter((e) => !ids.has(e.event_id));
    if (persist()) store("queue", (store("queue") || []).filter((e) => !ids.has(e.event_id)));
  }

  function draft(type, props) {
    const t = FIELD[type] || type == "page_view" ? type : "custom";
    const e = {
      event_type: t,
      event_id: uuid(),
      ts: iso(Date.now()),
      ctx: {
        page_url: pageUrl(),
        referrer: referrer || undefined,
        locale: nav.language,
        user_agent: nav.userAgent,
        title: document.title || undefined,
        ab_variant: o.abVariant ? String(o.abVariant) : undefined,
      },
    };
    if (t != type) e.custom = { name: type, properties: props || undefined };
    else if (FIELD[t]) e[FIELD[t]] = props || {};
    return e;
  }

  // give a draft its user, session and metadata once consent allows sending it
  function release(e) {
    if (!inSample()) return log("not in the sample:", e.event_type);
    const now = Date.now();
    const user = (e.user = { consent: { analytics: true } });
    if (consent && consent.ads != null) user.consent.ads = consent.ads;
    if (uid) user.user_id_hash = uid;
    let utm = landingUtm;
    if (persist()) {
      const s = session(now);
      user.anonymous_id = anonymousId();
      e.session = { session_id: s.id };
      utm = s.utm;
    }
    if (utm) (e.session = e.session || {}).utm = utm;
    e.metadata = { sdk_version: VERSION, experiment_keys: o.experiments ? o.experiments.map(String) : undefined };
    if (o.beforeSend) {
      try {
        e = o.beforeSend(e);
      } catch (err) {
        log("beforeSend threw, the event is dropped:", err);
        e = null;
      }
      if (!e) return log("dropped by beforeSend");
    }
    log("queued", e.event_type, e);
    queue.push(e);
    if (queue.length > o.maxQueue) forget(queue.slice(0, queue.length - o.maxQueue));
    remember([e]);
    if (queue.length >= o.batchSize) flush();
    else schedule(o.flushInterval);
  }

  function track(type, props) {
    if (!allowed() && !undecided()) return log("no consent: not sent", type);
    const e = draft(String(type), props);
    if (undecided()) {
      pending.push(e);
      pending = pending.slice(-o.maxQueue);
      return log("waiting for consent:", type);
    }
    release(e);
  }

  function schedule(delay) {
    if (!timer) {
      timer = setTimeout(() => {
        timer = 0;
        flush();
      }, delay);
    }
  }

  async function flush() {
    if (inflight || !queue.length) return;
    if (Date.now() < waitUntil || nav.onLine === false) return schedule(Math.max(waitUntil - Date.now(), 1e3));
    const batch = (inflight = queue.slice(0, o.batchSize));
    let status = 0;
    let retryAfter = null;
    try {
      const body = JSON.stringify({ events: batch, sent_at: iso(Date.now()) });
      const r = await fetch(url, {
        method: "POST",
        body,
        keepalive: body.length < MAX_BODY,
        credentials: "omit",
        headers: { "Content-Type": "text/plain" },
      });
      status = r.status;
      retryAfter = r.headers.get("Retry-After");
      if (status == 200 && o.debug) log("sent", batch.length, await r.json());
    } catch (err) {
      log("network error", err);
    }
    inflight = null;
    if (status == 200 || (status >= 400 && status < 500 && status != 408 && status != 429)) {
      // delivered, or refused for good (a bad key, a foreign origin): retrying cannot help
      if (status != 200) log("refused with", status, batch);
      attempt = 0;
      forget(batch);
      if (queue.length) schedule(queue.length >= o.batchSize ? 0 : o.flushInterval);
    } else {
      const d = backoff(attempt++, retryAfter);
      log("retry in", d, "ms after", status || "a network error");
      waitUntil = Date.now() + d;
      schedule(d);
    }
  }

  // the page goes away (or may): hand what is left to the browser with sendBeacon
  function leave() {
    // offline, or the server asked for a pause: storage keeps the events for the next page instead
    if ((Date.now() < waitUntil || nav.onLine === false) && persist()) return;
    let rest = queue.filter((e) => !inflight || !inflight.includes(e));
    while (rest.length) {
      let n = Math.min(rest.length, o.batchSize);
      let body;
      while ((body = JSON.stringify({ events: rest.slice(0, n), sent_at: iso(Date.now()) })).length > MAX_BODY && n > 1) n >>= 1;
      const chunk = rest.slice(0, n);
      rest = rest.slice(n);
      if (nav.sendBeacon && nav.sendBeacon(url, body)) forget(chunk);
      else return log("the beacon was refused; the events stay queued");
    }
  }

  function pageUrl() {
    return o.hash ? location.href : location.href.split("#")[0];
  }

  function page(force) {
    const href = pageUrl();
    if (href == lastUrl && force !== true) return;
    if (lastUrl) referrer = lastUrl;
    lastUrl = href;
    track("page_view");
  }

  function identify(hash) {
    uid = hash ? String(hash) : null;
    if (persist()) store("uid", uid);
  }

  async function identifyEmail(email) {
    const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(String(email).trim().toLowerCase()));
    const h = "sha256:" + Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
    identify(h);
    return h;
  }

  function setConsent(c) {
    consent = { analytics: !!(c && c.analytics) };
    if (c && c.ads != null) consent.ads = !!c.ads;
    if (o.storage != "none") store("consent", consent);
    if (allowed()) {
      if (persist()) {
        uid = uid || store("uid");
        if (uid) store("uid", uid);
        remember(queue);
      }
      const p = pending;
      pending = [];
      p.forEach(release);
    } else {
      // withdrawn: forget everything not yet sent, and every id kept for this visitor
      log("consent withdrawn: queue and ids deleted");
      queue = [];
      pending = [];
      for (const k of ["queue", "aid", "session", "uid"]) store(k, null);
    }
  }

  function reset() {
    uid = null;
    sampled = undefined;
    for (const k of ["aid", "session", "uid"]) store(k, null);
  }

  // -- start -----------------------------------------------------------------
  if (persist()) {
    uid = store("uid");
    queue = (store("queue") || []).slice(-o.maxQueue); // left by an earlier page: send them now
    if (queue.length) schedule(0);
  }
  addEventListener("online", () => {
    attempt = waitUntil = 0;
    flush();
  });
  addEventListener("pagehide", leave);
  document.addEventListener("visibilitychange", () => document.visibilityState == "hidden" && leave());
  if (o.clicks) {
    document.addEventListener(
      "click",
      (ev) => {
        try {
          const el = ev.target.closest("[data-cl-event],[data-cl-affiliate]");
          if (!el) return;
          const d = el.dataset;
          if (d.clAffiliate != null) {
            const target = el.href;
            // a tracked link (/r/...) of this collector records the click itself
            if (!(target && host && target.startsWith(host + "/r/"))) {
              track("affiliate_click", {
                link_id: d.clAffiliate || undefined,
                target: target || undefined,
                payout_cents: d.clPayout ? +d.clPayout : undefined,
              });
              flush();
            }
          }
          if (d.clEvent) track(d.clEvent, propsOf(el));
        } catch (err) {
          log(err);
        }
      },
      true,
    );
  }
  if (o.autoPageviews) {
    for (const m of ["pushState", "replaceState"]) {
      const orig = history[m];
      history[m] = function () {
        const r = orig.apply(this, arguments);
        safe(page)();
        return r;
      };
    }
    addEventListener("popstate", () => safe(page)());
    if (o.hash) addEventListener("hashchange", () => safe(page)());
    page();
  } else {
    lastUrl = pageUrl();
  }

  function safe(f) {
    return function () {
      try {
        const r = f.apply(null, arguments);
        return r && r.catch ? r.catch(log) : r;
      } catch (err) {
        log(err);
      }
    };
  }

  return {
    track: safe(track),
    page: safe(() => page(true)),
    identify: safe(identify),
    identifyEmail: safe(identifyEmail),
    consent: safe(setConsent),
    flush: safe(flush),
    reset: safe(reset),
    options: o,
  };
}
