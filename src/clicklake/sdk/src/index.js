// The ES module build (/sdk.mjs):
//
//   import { init, track } from "https://collector.example/sdk.mjs";
//   init({ key: "wk_...", host: "https://collector.example" });
//   track("search", { query: "blue shoes" });
import { createClient, VERSION } from "./client.js";

let client = null;

/** Start the SDK once; later calls return the same client. */
export function init(options) {
  if (!client) {
    const o = Object.assign({}, options);
    if (!o.host) o.host = new URL(import.meta.url).origin;
    client = createClient(o);
  }
  return client;
}

const call =
  (name) =>
  (...args) =>
    client ? client[name](...args) : undefined;

export const track = call("track");
export const page = call("page");
export const identify = call("identify");
export const identifyEmail = call("identifyEmail");
export const consent = call("consent");
export const flush = call("flush");
export const reset = call("reset");
export { VERSION };
