// The dashboard's pages, in navigation order. A page is a path, a title, a component, and
// whether a shared link's read-only dashboard shows it (`shared`), whether the date range, filters and the comparison apply to it (`site`: the site switcher alone); a new report page is one more entry here.
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
  { path: "/", shared: true, title: "Overview", component: Overview, dates: true, filters: true, compare: true },
  { path: "/funnels", shared: true, title: "Funnels", component: Funnels, dates: true, filters: false },
  { path: "/experiments", shared: true, title: "Experiments", component: Experiments, dates: true, filters: false },
  { path: "/events", shared: true, title: "Events", component: Events, dates: true, filters: true },
  { path: "/retention", shared: true, title: "Retention", component: Retention, dates: true, filters: false },
  { path: "/paths", shared: true, title: "Paths", component: Paths, dates: true, filters: false },
  { path: "/revenue", shared: true, title: "Revenue", component: Revenue, dates: true, filters: false },
  { path: "/menus", shared: true, title: "Menus & QR", component: Menus, dates: true, filters: false },
  { path: "/sql", title: "SQL", component: Sql, dates: false, filters: false },
  { path: "/live", title: "Live", component: Live, dates: false, filters: false, site: true },
  { path: "/settings", title: "Settings", component: Settings, dates: false, filters: false, site: true },
];
