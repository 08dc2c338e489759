// The classic-script build (/sdk.js): options from the tag's data-* attributes,
// then the commands queued with the snippet before it loaded, replayed in order.
//
//   <script>window.clicklake=window.clicklake||function(){(clicklake.q=clicklake.q||[]).push(arguments)}</script>
//   <script defer src="https://collector.example/sdk.js" data-key="wk_..."></script>
import { createClient } from "./client.js";

// data-require-consent="true" -> requireConsent: true; numbers become numbers
export function optionsOf(script) {
  const o = {};
  if (!script) return o;
  for (const a of script.attributes) {
    if (a.name.startsWith("data-")) {
      const k = a.name.slice(5).replace(/-(\w)/g, (_, c) => c.toUpperCase());
      const v = a.value;
      o[k] = v == "true" || v == "" ? true : v == "false" ? false : /^\d+(\.\d+)?$/.test(v) ? +v : v;
    }
  }
  if (k(o.experiments)) o.experiments = o.experiments.split(",");
  if (!o.host && script.src) o.host = new URL(script.src).origin;
  return o;
}
const k = (v) => typeof v == "string";

try {
  const w = window;
  const queued = (w.clicklake && w.clicklake.q) || [];
  const options = optionsOf(document.currentScript);
  // clicklake("init", {...}) before load: for what a data-* attribute cannot carry (beforeSend)
  for (const c of queued) if (c[0] == "init") Object.assign(options, c[1]);
  const client = createClient(options);
  const api = function (cmd, ...args) {
    if (typeof client[cmd] == "function") return client[cmd](...args);
  };
  Object.assign(api, client);
  w.clicklake = api;
  for (const c of queued) if (c[0] != "init") api(...c);
} catch (e) {
  // never into the host page
}
