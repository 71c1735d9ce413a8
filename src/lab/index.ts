/** The lab: measuring and plotting the overlays and transfers (charts as standalone SVG). */
export { barChart, escapeXml, formatNumber, lineChart, linearTicks, logTicks, niceStep, seriesColour, stackCharts, type BarChartOptions, type BarGroup, type LineChartOptions, type LineSeries, type Point } from './chart.js';
