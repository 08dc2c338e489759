// The dashboard's pages, in navigation order. A page is a path, a title, a component, and
// whether the date range, filters and the comparison apply to it (`site`: the site switcher alone); a new report page is one more entry here.
import { Overview } from "./overview.js";
import { Funnels } from "./funnels.js";
import { Experiments } from "./experiments.js";
import { Events } from "./events.js";
import { Sql } from "./sql.js";
import { Retention } from "./retention.js";
import { Paths } from "./paths.js";
import { Revenue } from "./revenue.js";
import { Menus } from "./menus.js";
import { Live } from "./live.js";
import { Settings } from "./settings.js";

export const PAGES = [
  { path: "/", title: "Overview", component: Overview, dates: true, filters: true, compare: true },
  { path: "/funnels", title: "Funnels", component: Funnels, dates: true, filters: false },
  { path: "/experiments", title: "Experiments", component: Experiments, dates: true, filters: false },
  { path: "/events", title: "Events", component: Events, dates: true, filters: true },
  { path: "/retention", title: "Retention", component: Retention, dates: true, filters: false },
  { path: "/paths", title: "Paths", component: Paths, dates: true, filters: false },
  { path: "/revenue", title: "Revenue", component: Revenue, dates: true, filters: false },
  { path: "/menus", title: "Menus & QR", component: Menus, dates: true, filters: false },
  { path: "/sql", title: "SQL", component: Sql, dates: false, filters: false },
  { path: "/live", title: "Live", component: Live, dates: false, filters: false, site: true },
  { path: "/settings", title: "Settings", component: Settings, dates: false, filters: false, site: true },
];
