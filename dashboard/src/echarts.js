// Apache ECharts, tree-shaken: the line and bar charts, a grid, tooltips and a legend, on canvas
// (the chart's box carries its summary for screen readers, see chart.js).
// Its own chunk, loaded by chart.js when the first chart is drawn: the figures come first.
import * as echarts from "echarts/core";
import { LineChart, BarChart } from "echarts/charts";
import { GridComponent, TooltipComponent, LegendComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

export const init = (box, dark) => echarts.init(box, dark ? "dark" : null, { renderer: "canvas" });
