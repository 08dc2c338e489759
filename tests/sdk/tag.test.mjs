// The classic-script entry (src/clicklake/sdk/src/tag.js): options from data-* attributes, the snippet's queue.
import assert from "node:assert/strict";
import { test } from "node:test";

import { optionsOf } from "../../src/clicklake/sdk/src/tag.js";
import { browser, until } from "./env.mjs";

const script = (attrs, src = "https://collect.example/sdk.js") => ({
  src,
  attributes: Object.entries(attrs).map(([name, value]) => ({ name, value })),
});

test("data-* attributes become options: camelCase names, booleans, numbers, the host from the script's URL", () => {
  const o = optionsOf(
    script({
      "data-key": "wk_abc",
      "data-require-consent": "",
      "data-auto-pageviews": "false",
      "data-sample-rate": "0.25",
      "data-experiments": "new-nav,cheap-shipping",
      defer: "",
    }),
  );
  assert.deepEqual(o, {
    key: "wk_abc",
    requireConsent: true,
    autoPageviews: false,
    sampleRate: 0.25,
    experiments: ["new-nav", "cheap-shipping"],
    host: "https://collect.example",
  });
  assert.equal(optionsOf(script({ "data-host": "https://other.example" })).host, "https://other.example");
});

test("commands queued by the snippet before the script loaded run in order, init first", async () => {
  const env = browser();
  const q = [
    ["track", "signup", { plan: "pro" }],
    ["init", { beforeSend: (e) => ((e.ctx.ab_variant = "B"), e), flushInterval: 5 }],
    ["consent", { analytics: true }],
  ];
  window.clicklake = { q };
  document.currentScript = script({ "data-key": "wk_q", "data-require-consent": "true", "data-storage": "always" });
  await import("../../src/clicklake/sdk/src/tag.js?queue");
  await until(() => env.events().length == 2);
  const [pv, signup] = env.events();
  assert.equal(pv.event_type, "page_view");
  assert.deepEqual(signup.custom, { name: "signup", properties: { plan: "pro" } });
  assert.equal(signup.ctx.ab_variant, "B");
  assert.ok(signup.user.anonymous_id);
  assert.equal(env.requests[0].url, "https://collect.example/v1/events?key=wk_q");
  // after loading, both call styles work and neither throws
  window.clicklake("track", "later");
  window.clicklake.track("later2");
  window.clicklake("no-such-command");
  await until(() => env.events().length == 4);
});
