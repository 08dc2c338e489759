// A world map of one figure per country (ISO alpha-2 codes, as the Stats API's `country`):
// drawn from the world map's own chunk (worldmap.js), loaded only when a map is shown, so the
// entry stays small. Clicking a country calls `onPick(code)`, as a click on the list's row does;
// the map is a picture for screen readers (its summary), and the list beside it stays the way in.
import { html } from "./ui.js";
import { Chart } from "./chart.js";

let library = null;
const load = () => (library = library || import("./worldmap.js"));
// The Overview asks for the map's chunk when it asks for the countries, so that both arrive together.
export const preloadMap = () => void load();

export function WorldMap({ rows, dimension, metric, label, onPick }) {
  const data = rows.filter((r) => r[dimension]).map((r) => ({ name: r[dimension], value: Number(r[metric]) || 0 }));
  const max = Math.max(1, ...data.map((d) => d.value));
  const top = data.slice(0, 3).map((d) => `${d.name} ${d.value}`).join(", ");
  const option = {
    visualMap: { min: 0, max, left: 0, bottom: 0, orient: "horizontal", itemWidth: 10, itemHeight: 80, text: ["more", "fewer"], calculable: false, inRange: { color: ["#9ecae1", "#08519c"] } },
    series: [
      {
        type: "map",
        map: "world",
        nameProperty: "iso",
        roam: false,
        selectedMode: false,
        left: 0,
        right: 0,
        top: 0,
        bottom: 28,
        emphasis: { label: { show: false }, itemStyle: { areaColor: "#f4a259" } },
        itemStyle: { borderWidth: 0.4 },
        data,
      },
    ],
  };
  return html`<${Chart} library=${load} option=${option} onPick=${onPick} height=${300}
    summary=${`${label} by country on a world map, ${data.length} ${data.length === 1 ? "country" : "countries"}${top ? "; the most: " + top : ""}. The list beside it has every figure.`} />`;
}
