// A chart: an ECharts option drawn in a box once the chart library (a chunk of its own) is loaded.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "./ui.js";

let charts = null;
const load = () => (charts = charts || import("./echarts.js"));
// A page that will draw charts asks for the library at once, so that it loads while the figures do.
export const preloadCharts = () => void load();
const dark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;

// `option` is an ECharts option; `summary` is what a screen reader is told instead of the picture;
// `library` loads the chunk that draws it (the map's is its own); `onPick(name)` follows a click on an item.
export function Chart({ option, summary, height = 260, library = load, onPick = null }) {
  const box = useRef(null);
  const chart = useRef(null);
  const pick = useRef(onPick);
  pick.current = onPick;
  const text = JSON.stringify(option);
  const [scheme, setScheme] = useState(dark());
  useEffect(() => {
    // the system's scheme may change under an open page: draw again in the new one
    const query = window.matchMedia("(prefers-color-scheme: dark)");
    const changed = () => setScheme(query.matches);
    query.addEventListener("change", changed);
    return () => query.removeEventListener("change", changed);
  }, []);
  useEffect(() => {
    let live = true;
    const resize = () => chart.current && chart.current.resize();
    library().then((lib) => {
      if (!live) return;
      chart.current = lib.init(box.current, scheme);
      const option = { backgroundColor: "transparent", animation: false, ...JSON.parse(text) };
      chart.current.setOption(lib.finish ? lib.finish(option, scheme) : option, true);
      chart.current.on("click", (p) => pick.current && p.name && pick.current(p.name));
      box.current.dataset.drawn = "true";
    });
    window.addEventListener("resize", resize);
    return () => {
      live = false;
      window.removeEventListener("resize", resize);
      if (chart.current) chart.current.dispose();
      chart.current = null;
    };
  }, [text, scheme, library]);
  return html`<figure class=${"chart" + (onPick ? " pickable" : "")}>
    <div ref=${box} class="chart-box" style=${{ height: height + "px" }} role="img" aria-label=${summary}></div>
  </figure>`;
}
