// The world map's chunk, loaded by map.js when the first map is drawn (never by the entry): ECharts'
// map series and visual map, and the world's countries from world-atlas (Natural Earth, 1:110m,
// TopoJSON) turned into GeoJSON by topojson-client. Each country is named by its ISO 3166-1
// alpha-2 code, as the Stats API's `country` is: world-atlas names countries by their numeric code,
// which i18n-iso-countries' table of codes turns into alpha-2 (only the table is imported, no locale).
import * as echarts from "echarts/core";
// (each piece by its own path, as in echarts.js: only what both chunks use is shared)
import { install as MapChart } from "echarts/lib/chart/map/install.js";
import { install as VisualMapComponent } from "echarts/lib/component/visualMap/install.js";
import { install as TooltipComponent } from "echarts/lib/component/tooltip/install.js";
import { install as CanvasRenderer } from "echarts/lib/renderer/installCanvasRenderer.js";
import { feature } from "topojson-client";
import world from "world-atlas/countries-110m.json";
import codes from "i18n-iso-countries/codes.json";

echarts.use([MapChart, TooltipComponent, VisualMapComponent, CanvasRenderer]);

const ANTARCTICA = "010"; // no visitor there, and a wide band at the bottom of the map
// Natural Earth's countries that ISO 3166-1 has no numeric code for; Kosovo has the user-assigned XK
const UNCODED = { Kosovo: "XK" };
const alpha2 = new Map(codes.map(([a2, , numeric]) => [numeric, a2]));
const geo = feature(world, world.objects.countries);
geo.features = geo.features.filter((f) => f.id !== ANTARCTICA);
for (const f of geo.features) f.properties.iso = alpha2.get(f.id) || UNCODED[f.properties.name] || "";
echarts.registerMap("world", geo);

export const init = (box, dark) => echarts.init(box, dark ? "dark" : null, { renderer: "canvas" });

// The option's last touches that JSON cannot carry: a tooltip that names the country in words, and
// the colours of the countries with no figure, in the system's scheme.
let regions = null;
export function finish(option, dark) {
  regions = regions || new Intl.DisplayNames(["en"], { type: "region" });
  const name = (code) => {
    try {
      return regions.of(code) || code;
    } catch (e) {
      return code;
    }
  };
  const blank = { areaColor: dark ? "#2b3040" : "#e6e9ef", borderColor: dark ? "#151821" : "#ffffff" };
  return {
    ...option,
    series: option.series.map((s) => ({ ...s, itemStyle: { ...s.itemStyle, ...blank } })),
    tooltip: { trigger: "item", formatter: (p) => (p.name ? `${name(p.name)}: ${Number.isFinite(p.value) ? p.value.toLocaleString("en") : 0}` : "") },
  };
}

// The chart drawn in a box (the browser tests find a country's place on the canvas through it).
export const instanceOf = (box) => echarts.getInstanceByDom(box);
