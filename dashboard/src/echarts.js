// Apache ECharts, tree-shaken: the line and bar charts, a grid, tooltips and a legend, on canvas
// (the chart's box carries its summary for screen readers, see chart.js).
// Its own chunk, loaded by chart.js when the first chart is drawn: the figures come first.
import * as echarts from "echarts/core";
// Each piece by its own path, not through the `echarts/charts` and `echarts/components` indexes: a chunk
// that imports an index reaches every chart in it, and esbuild then puts the world map's pieces
// (worldmap.js) in the chunk both share, which every chart would load.
import { install as LineChart } from "echarts/lib/chart/line/install.js";
import { install as BarChart } from "echarts/lib/chart/bar/install.js";
import { install as GridComponent } from "echarts/lib/component/grid/install.js";
import { install as TooltipComponent } from "echarts/lib/component/tooltip/install.js";
import { install as LegendComponent } from "echarts/lib/component/legend/install.js";
import { install as CanvasRenderer } from "echarts/lib/renderer/installCanvasRenderer.js";

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

export const init = (box, dark) => echarts.init(box, dark ? "dark" : null, { renderer: "canvas" });
