// Unit tests of the browser SDK's client (src/clicklake/sdk/src/client.js) with the Node test runner.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { backoff, createClient, propsOf, utmOf, uuid } from "../../src/clicklake/sdk/src/client.js";
import { MemoryStorage, browser, sleep, until } from "./env.mjs";

const KEY = "wk_test";
const HOST = "https://collect.example";
const fast = { key: KEY, host: HOST, flushInterval: 5 };
const realNow = Date.now;
afterEach(() => {
  Date.now = realNow;
});

test("uuid is an RFC 4122 version 4 id, different each time", () => {
  const a = uuid();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, uuid());
});

test("utmOf reads utm_* from the query string or a hash route", () => {
  assert.deepEqual(utmOf("https://a.example/?utm_source=news&utm_campaign=x&other=1"), { source: "news", campaign: "x" });
  assert.deepEqual(utmOf("https://a.example/#/landing?utm_medium=email"), { medium: "email" });
  assert.equal(utmOf("https://a.example/p?q=1"), undefined);
  assert.equal(utmOf("not a url"), undefined);
});

test("backoff grows with jitter, is capped, and never undercuts Retry-After", () => {
  assert.equal(backoff(0, null, () => 0), 500);
  assert.equal(backoff(0, null, () => 1), 1000);
  assert.equal(backoff(3, null, () => 1), 8000);
  assert.equal(backoff(20, null, () => 1), 60000);
  assert.equal(backoff(0, "7", () => 1), 7000);
  assert.equal(backoff(5, "1", () => 1), 32000);
  const date = new Date(Date.now() + 30000).toUTCString();
  assert.ok(Math.abs(backoff(0, date, () => 0) - 30000) < 1500);
  assert.equal(backoff(0, "99999999", () => 0), 3600000);
});

test("propsOf turns data-cl-prop-* into typed properties", () => {
  const el = {
    attributes: [
      { name: "data-cl-prop-control-id", value: "price" },
      { name: "data-cl-prop-seats", value: "3" },
      { name: "data-cl-prop-product-ids", value: "a,b" },
      { name: "data-cl-prop-product-id", value: "123" },
      { name: "data-cl-event", value: "x" },
    ],
  };
  assert.deepEqual(propsOf(el), { control_id: "price", seats: 3, product_ids: ["a", "b"], product_id: "123" });
});

test("a page view on start carries the page, referrer, locale, user agent, title and UTM", async () => {
  const env = browser({ url: "https://shop.example/p?utm_source=news#top", referrer: "https://search.example/" });
  createClient(fast);
  await until(() => env.requests.length == 1);
  const { url, init, body } = env.requests[0];
  assert.equal(url, `${HOST}/v1/events?key=${KEY}`);
  assert.equal(init.keepalive, true);
  assert.equal(init.credentials, "omit");
  assert.match(body.sent_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const [e] = body.events;
  assert.equal(e.event_type, "page_view");
  assert.deepEqual(e.ctx, {
    page_url: "https://shop.example/p?utm_source=news",
    referrer: "https://search.example/",
    locale: "de-DE",
    user_agent: "NodeTest/1.0",
    title: "Shop",
  });
  assert.deepEqual(e.user, { consent: { analytics: true } });
  assert.deepEqual(e.session, { utm: { source: "news" } });
  assert.equal(e.metadata.sdk_version, "dev");
});

test("without consent to storage nothing is stored and no ids are sent (the server's cookieless id applies)", async () => {
  const env = browser();
  const c = createClient(fast);
  c.track("search", { query: "shoes" });
  c.identify("sha256:abc");
  await until(() => env.events().length == 2);
  assert.equal(env.storage.writes, 0);
  for (const e of env.events()) {
    assert.equal(e.user.anonymous_id, undefined);
    assert.equal(e.session, undefined);
  }
  c.track("custom", { name: "after" });
  await until(() => env.events().length == 3);
  assert.equal(env.events()[2].user.user_id_hash, "sha256:abc");
});

test("requireConsent: nothing sent or stored before consent; then the waiting events go with ids", async () => {
  const env = browser();
  const c = createClient({ ...fast, requireConsent: true });
  c.track("chart_interaction", { action: "sort", control_id: "price" });
  await sleep(30);
  assert.equal(env.requests.length, 0);
  assert.equal(env.storage.writes, 0);
  c.consent({ analytics: true, ads: false });
  await until(() => env.events().length == 2);
  const [pv, chart] = env.events();
  assert.equal(pv.event_type, "page_view");
  assert.deepEqual(chart.chart, { action: "sort", control_id: "price" });
  assert.deepEqual(chart.user.consent, { analytics: true, ads: false });
  assert.match(chart.user.anonymous_id, /^[0-9a-f-]{36}$/);
  assert.equal(chart.user.anonymous_id, pv.user.anonymous_id);
  assert.equal(chart.session.session_id, pv.session.session_id);
  assert.ok(env.storage.getItem("cl_aid"));
});

test("consent withdrawn: queued events and every stored id are deleted, nothing more is sent", async () => {
  const env = browser({ answer: () => 503 });
  const c = createClient({ ...fast, requireConsent: true });
  c.consent({ analytics: true });
  c.track("search", { query: "a" });
  await until(() => env.requests.length >= 1);
  assert.ok(env.storage.getItem("cl_queue"));
  c.consent({ analytics: false });
  assert.deepEqual(env.storage.keys(), ["cl_consent"]);
  const sent = env.requests.length;
  c.track("search", { query: "b" });
  env.hide();
  await sleep(30);
  assert.equal(env.beacons.length, 0);
  assert.equal(env.requests.length, sent);
});

test("a stored consent applies on the next page; Do Not Track and GPC win when honoured", async () => {
  const storage = new MemoryStorage();
  let env = browser({ storage });
  createClient({ ...fast, requireConsent: true }).consent({ analytics: true });
  await until(() => env.requests.length == 1);
  env = browser({ storage });
  createClient({ ...fast, requireConsent: true });
  await until(() => env.requests.length == 1);
  env = browser();
  navigator.globalPrivacyControl = true;
  createClient({ ...fast, honorGpc: true }).track("search", { query: "x" });
  await sleep(30);
  assert.equal(env.requests.length, 0);
});

test("events are batched by size and by time", async () => {
  const env = browser();
  const c = createClient({ ...fast, batchSize: 3, flushInterval: 60000, autoPageviews: false });
  c.track("a");
  c.track("b");
  await sleep(20);
  assert.equal(env.requests.length, 0);
  c.track("c");
  await until(() => env.requests.length == 1);
  assert.deepEqual(
    env.requests[0].body.events.map((e) => e.custom.name),
    ["a", "b", "c"],
  );
  const t = browser();
  const d = createClient({ ...fast, batchSize: 50, flushInterval: 40, autoPageviews: false });
  d.track("x");
  d.track("y");
  await sleep(10);
  assert.equal(t.requests.length, 0);
  await until(() => t.requests.length == 1);
  assert.equal(t.requests[0].body.events.length, 2);
});

test("429, 503 and network errors are retried with the same event ids; a 400 is not", async () => {
  const answers = [{ status: 503, retryAfter: "0" }, 429, "network", 200];
  const env = browser({
    answer: (n) => {
      const a = answers[n - 1];
      if (a == "network") throw new TypeError("Failed to fetch");
      return a;
    },
  });
  const c = createClient({ ...fast, autoPageviews: false });
  c.track("purchase", { order_id: "o1", revenue_minor: 100, currency: "EUR" });
  await until(() => env.requests.length == 4, 10000);
  const ids = env.requests.map((r) => r.body.events[0].event_id);
  assert.equal(new Set(ids).size, 1);
  await sleep(30);
  assert.equal(env.requests.length, 4);

  const bad = browser({ answer: () => 400 });
  createClient({ ...fast }).track("x");
  await until(() => bad.requests.length >= 1);
  await sleep(50);
  assert.equal(bad.requests.length, 1);
});

test("the queue survives a reload in storage (with consent) and is sent by the next page", async () => {
  const storage = new MemoryStorage();
  let env = browser({ storage, online: false });
  const c = createClient({ ...fast, storage: "always", autoPageviews: false });
  c.track("one");
  c.track("two");
  await sleep(20);
  assert.equal(env.requests.length, 0);
  assert.equal(JSON.parse(storage.getItem("cl_queue")).length, 2);
  env = browser({ storage });
  createClient({ ...fast, storage: "always", autoPageviews: false });
  await until(() => env.events().length == 2);
  assert.deepEqual(
    env.events().map((e) => e.custom.name),
    ["one", "two"],
  );
  await until(() => JSON.parse(storage.getItem("cl_queue")).length == 0);
});

test("going online sends what waited offline at once", async () => {
  const env = browser({ online: false });
  const c = createClient({ ...fast, autoPageviews: false });
  c.track("offline");
  await sleep(20);
  assert.equal(env.requests.length, 0);
  env.online = true;
  env.win.dispatchEvent(new Event("online"));
  await until(() => env.requests.length == 1);
});

test("when the page is hidden the rest goes by sendBeacon, and not twice", async () => {
  const env = browser();
  const c = createClient({ ...fast, flushInterval: 60000, storage: "always" });
  c.track("bye", { n: 1 });
  env.hide();
  assert.equal(env.beacons.length, 1);
  assert.equal(env.beacons[0].url, `${HOST}/v1/events?key=${KEY}`);
  assert.deepEqual(
    env.beacons[0].body.events.map((e) => e.event_type),
    ["page_view", "custom"],
  );
  assert.deepEqual(JSON.parse(env.storage.getItem("cl_queue")), []);
  c.flush();
  await sleep(20);
  assert.equal(env.requests.length, 0);
});

test("while the server asks to wait, storage keeps the events for the next page instead of a beacon", async () => {
  const env = browser({ answer: () => ({ status: 503, retryAfter: "60" }) });
  createClient({ ...fast, storage: "always" });
  await until(() => env.requests.length == 1);
  await sleep(5);
  env.hide();
  assert.equal(env.beacons.length, 0);
  assert.equal(JSON.parse(env.storage.getItem("cl_queue")).length, 1);
});

test("SPA navigation: a page view per new URL (History API and popstate), the previous URL as referrer", async () => {
  const env = browser({ url: "https://shop.example/a" });
  createClient(fast);
  history.pushState({}, "", "/b");
  history.replaceState({}, "", "/b"); // same URL: no new page view
  history.pushState({}, "", "/b#details"); // only the hash: none either without `hash`
  env.navigate("/a");
  await until(() => env.events().length == 3);
  await sleep(20);
  assert.deepEqual(
    env.events().map((e) => [e.ctx.page_url, e.ctx.referrer]),
    [
      ["https://shop.example/a", undefined],
      ["https://shop.example/b", "https://shop.example/a"],
      ["https://shop.example/a", "https://shop.example/b"],
    ],
  );
});

test("hash routing counts hash changes when asked", async () => {
  const env = browser({ url: "https://shop.example/#/home" });
  createClient({ ...fast, hash: true });
  history.pushState({}, "", "#/cart");
  await until(() => env.events().length == 2);
  assert.equal(env.events()[1].ctx.page_url, "https://shop.example/#/cart");
});

test("a new session after 30 minutes without events, and at midnight UTC", async () => {
  const env = browser();
  let now = Date.UTC(2026, 10, 22, 22, 50);
  Date.now = () => now;
  const c = createClient({ ...fast, storage: "always", autoPageviews: false });
  c.track("a");
  now += 29 * 60000; // 23:19, 29 minutes later: the same session
  c.track("b");
  now += 32 * 60000; // 23:51, 32 minutes later: a new one
  c.track("c");
  now += 10 * 60000; // 00:01, the next UTC day: a new one
  c.track("d");
  now += 10 * 60000;
  c.track("e");
  await until(() => env.events().length == 5);
  const s = env.events().map((e) => e.session.session_id);
  assert.equal(s[0], s[1]);
  assert.notEqual(s[1], s[2]);
  assert.notEqual(s[2], s[3]);
  assert.equal(s[3], s[4]);
  assert.equal(new Set(env.events().map((e) => e.user.anonymous_id)).size, 1);
});

test("beforeSend changes or drops events; a throwing one drops without throwing; sampling 0 sends nothing", async () => {
  const env = browser();
  const c = createClient({
    ...fast,
    autoPageviews: false,
    beforeSend: (e) => {
      if (e.custom.name == "drop") return null;
      if (e.custom.name == "boom") throw new Error("boom");
      e.ctx.ab_variant = "B";
      return e;
    },
  });
  c.track("drop");
  c.track("boom");
  c.track("keep");
  await until(() => env.events().length == 1);
  assert.equal(env.events()[0].ctx.ab_variant, "B");
  const none = browser();
  createClient({ ...fast, sampleRate: 0 }).track("x");
  await sleep(30);
  assert.equal(none.requests.length, 0);
});

test("identifyEmail hashes the address with SHA-256 in the page", async () => {
  const env = browser();
  const c = createClient({ ...fast, autoPageviews: false });
  const h = await c.identifyEmail("  Jane@Example.COM ");
  assert.equal(h, "sha256:8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d");
  c.track("x");
  await until(() => env.events().length == 1);
  assert.equal(env.events()[0].user.user_id_hash, h);
  assert.ok(!JSON.stringify(env.requests[0].body).includes("example.com"));
});

test("never throws into the page, even when storage throws", async () => {
  const broken = {
    getItem() {
      throw new Error("denied");
    },
    setItem() {
      throw new Error("denied");
    },
    removeItem() {
      throw new Error("denied");
    },
  };
  const env = browser({ storage: broken });
  const c = createClient({ ...fast, storage: "always" });
  c.track(undefined, 5);
  c.track("custom", null);
  c.consent(null);
  c.consent({ analytics: true });
  c.identify({});
  await c.identifyEmail(undefined);
  c.track("still works");
  c.flush();
  await until(() => env.requests.length >= 1);
});

test("declarative clicks: data-cl-event and affiliate links, but not the collector's own /r/ links", async () => {
  const env = browser();
  createClient({ ...fast, autoPageviews: false });
  const el = (attrs) => ({
    attributes: Object.entries(attrs).map(([name, value]) => ({ name, value })),
    dataset: Object.fromEntries(
      Object.entries(attrs)
        .filter(([n]) => n.startsWith("data-"))
        .map(([n, v]) => [n.slice(5).replace(/-(\w)/g, (_, ch) => ch.toUpperCase()), v]),
    ),
    href: attrs.href,
    closest() {
      return this;
    },
  });
  const ev = (t) => {
    const e = new Event("click");
    Object.defineProperty(e, "target", { value: t });
    return e;
  };
  document.dispatchEvent(ev(el({ "data-cl-event": "chart_interaction", "data-cl-prop-action": "toggle" })));
  document.dispatchEvent(ev(el({ "data-cl-affiliate": "l1", "data-cl-payout": "120", href: "https://partner.example/x" })));
  document.dispatchEvent(ev(el({ "data-cl-affiliate": "l2", href: `${HOST}/r/abc` })));
  await until(() => env.events().length == 2);
  await sleep(20);
  const [aff, chart] = env.events().sort((a, b) => a.event_type.localeCompare(b.event_type));
  assert.deepEqual(aff.affiliate, { link_id: "l1", target: "https://partner.example/x", payout_cents: 120 });
  assert.deepEqual(chart.chart, { action: "toggle" });
  assert.equal(env.events().length, 2);
});

test("offline when the page is hidden: no beacon (it would be lost); storage keeps the events", async () => {
  const env = browser({ online: false });
  const c = createClient({ ...fast, storage: "always" });
  c.track("offline");
  env.hide();
  assert.equal(env.beacons.length, 0);
  assert.equal(JSON.parse(env.storage.getItem("cl_queue")).length, 2);
  const cookieless = browser({ online: false });
  createClient(fast);
  cookieless.hide(); // without storage the beacon is the only chance left
  assert.equal(cookieless.beacons.length, 1);
});

test("debug logs to the console; tag attributes that look like numbers still give text fields", async () => {
  const env = browser();
  const lines = [];
  const log = console.log;
  console.log = (...a) => lines.push(a.join(" "));
  try {
    const c = createClient({ ...fast, debug: true, abVariant: 2, experiments: [7], autoPageviews: false });
    c.track("x");
    await until(() => env.events().length == 1);
    await until(() => lines.some((l) => l.includes("sent")));
  } finally {
    console.log = log;
  }
  assert.ok(lines.every((l) => l.startsWith("[clicklake]")));
  assert.ok(lines.some((l) => l.includes("queued")));
  const [e] = env.events();
  assert.equal(e.ctx.ab_variant, "2");
  assert.deepEqual(e.metadata.experiment_keys, ["7"]);
});

test("Do Not Track is honoured when asked, and ignored otherwise", async () => {
  const env = browser();
  navigator.doNotTrack = "1";
  createClient({ ...fast, honorDnt: true }).track("x");
  await sleep(30);
  assert.equal(env.requests.length, 0);
  const other = browser();
  navigator.doNotTrack = "1";
  createClient(fast);
  await until(() => other.requests.length == 1);
});
