// The whole view lives in the URL: the page is the path, the rest is the query string
// (site, period, from, to, compare, f=dimension|op|value..., and each page's own keys).
import { signal, computed } from "@preact/signals";
import { rangeOf, previousOf, yearBeforeOf, defaultInterval } from "./dates.js";

export const url = signal(new URL(location.href));

// A shared link's page (/share/<token>) holds its session in a JSON block: the dashboard then
// runs read-only, for that one site, and the page is the query string's `view` (the path is the link's).
function readShare() {
  const block = document.getElementById("clicklake-share");
  if (!block) return null;
  try {
    return { ...JSON.parse(block.textContent), base: location.pathname };
  } catch (e) {
    return null;
  }
}
export const share = readShare();

// The page's path ("/", "/retention", ...): the URL's path, or a shared link's `view`.
export const pagePath = computed(() => (share ? "/" + (url.value.searchParams.get("view") || "") : url.value.pathname));

// The address of a page's path with a query string: under /share/<token> for a shared link.
export function pageHref(path, params) {
  if (!share) return hrefOf(path, params);
  const p = new URLSearchParams(params);
  p.delete("view");
  if (path !== "/") p.set("view", path.slice(1));
  return hrefOf(share.base, p);
}
export const me = signal(null);
// bumped at each login and logout: who is logged in is asked again
export const session = signal(0);

window.addEventListener("popstate", () => {
  url.value = new URL(location.href);
});

export function hrefOf(path, params) {
  const q = params.toString();
  return path + (q ? "?" + q : "");
}

export function navigate(path, params = null, { replace = false } = {}) {
  // a shared link never leaves its own address (`path` is then already it, or a page's path)
  const next = share && path !== share.base ? pageHref(path, params || new URLSearchParams()) : hrefOf(path, params || new URLSearchParams());
  history[replace ? "replaceState" : "pushState"](null, "", next);
  url.value = new URL(location.href);
  window.scrollTo(0, 0);
}

// The current query string with `patch` applied (null or "" removes a key; arrays repeat it).
export function withParams(patch, base = url.value.searchParams) {
  const p = new URLSearchParams(base);
  for (const [k, v] of Object.entries(patch)) {
    p.delete(k);
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else if (v !== null && v !== undefined && v !== "") p.set(k, v);
  }
  return p;
}

export function setParams(patch, opts) {
  navigate(url.value.pathname, withParams(patch), opts);
}

export const param = (k) => url.value.searchParams.get(k);

// The sites the user may read, and the site ids the view asks for ("all" is every one).
const nameOf = (s) => s.name || s.site_id;
export const sites = computed(() =>
  me.value ? [...me.value.sites].sort((a, b) => nameOf(a).localeCompare(nameOf(b))) : []
);
export const siteChoice = computed(() => {
  if (share) return share.site_id;
  const chosen = param("site");
  if (chosen === "all") return "all";
  if (chosen) return chosen;
  return sites.value.length ? sites.value[0].site_id : null;
});
export const siteIds = computed(() =>
  siteChoice.value === "all" ? sites.value.map((s) => s.site_id) : siteChoice.value ? [siteChoice.value] : []
);

export const period = computed(() => param("period") || "30d");
export const dateRange = computed(() => rangeOf(period.value, new Date(), param("from"), param("to")));
export const comparing = computed(() => param("compare") !== "off");
// compare= absent: the previous period; "year": the same days a year before; "off": none
export const compareHow = computed(() => (param("compare") === "year" ? "previous_year" : "previous_period"));
export const previousRange = computed(() =>
  compareHow.value === "previous_year" ? yearBeforeOf(dateRange.value) : previousOf(dateRange.value)
);
export const interval = computed(() => param("interval") || defaultInterval(dateRange.value));

// Filters: [op, dimension, [value]] as the Stats API takes them.
export const filters = computed(() =>
  url.value.searchParams.getAll("f").map((f) => {
    const [dimension, op, ...rest] = f.split("|");
    return [op, dimension, [rest.join("|")]];
  })
);

export function addFilter(dimension, value, op = "is") {
  const kept = url.value.searchParams.getAll("f").filter((f) => !f.startsWith(dimension + "|"));
  setParams({ f: [...kept, `${dimension}|${op}|${value}`] });
}

export function removeFilter(index) {
  const all = url.value.searchParams.getAll("f");
  all.splice(index, 1);
  setParams({ f: all });
}
