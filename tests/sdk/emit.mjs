// Print, as one JSON array, the events the SDK sends for every helper and event type
// (for tests/sdk/test_contract.py, which checks them against the ingest contract).
import { createClient } from "../../src/clicklake/sdk/src/client.js";
import { browser, until } from "./env.mjs";

const env = browser({ url: "https://shop.example/p/1?utm_source=news&utm_medium=email", referrer: "https://search.example/" });
const c = createClient({ key: "wk_x", host: "https://c.example", storage: "always", flushInterval: 1, experiments: ["exp-a"], abVariant: "B" });
c.consent({ analytics: true, ads: false });
await c.identifyEmail("jane@example.com");
c.track("chart_interaction", { product_ids: ["a", "b"], action: "compare_expand", control_id: "plan", control_value: 3 });
c.track("affiliate_click", { link_id: "l1", target: "https://partner.example/", payout_cents: 120 });
c.track("product_view", { product_id: "p1", name: "Shoe", price_minor: 4999, currency: "EUR", list_name: "search", position: 2 });
c.track("add_to_cart", { product_id: "p1", quantity: 2, price_minor: 4999, currency: "EUR" });
c.track("purchase", { order_id: "o1", revenue_minor: 9998, currency: "EUR", items: [{ product_id: "p1", quantity: 2, price_minor: 4999 }] });
c.track("search", { query: "blue shoes", results_count: 12 });
c.track("qr_scan", { link_id: "t12", placement: "table-12" });
c.track("custom", { name: "signup", properties: { plan: "pro", seats: 3, trial: true } });
c.track("newsletter_signup", { list: "weekly" });
c.track("no_properties");
history.pushState({}, "", "/p/2"); // an SPA navigation: the page view is automatic
await until(() => env.events().length == 12);
process.stdout.write(JSON.stringify(env.events()));
process.exit(0);
