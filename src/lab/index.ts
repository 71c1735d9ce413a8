/** The lab: measuring and plotting the overlays and transfers (charts as standalone SVG). */
export { barChart, escapeXml, formatNumber, lineChart, linearTicks, logTicks, niceStep, seriesColour, stackCharts, type BarChartOptions, type BarGroup, type LineChartOptions, type LineSeries, type Point } from './chart.js';
export { clientServerBound, p2pBound, type DistributionParams } from './bounds.js';
export { clientServerRun, DEFAULT_NEIGHBOURS, DEFAULT_PIECE_LENGTH, fileBytes, labTorrent, p2pRun, runDistribution, type DistributionMode, type DistributionOptions, type DistributionRow } from './distribution.js';
export { distributionChart, distributionCsv, distributionTable } from './report.js';
export { SharedStore } from './store.js';
export { Swarm, type LeecherRecord, type SwarmSpec } from './swarm.js';
export { runFreeRider, runOptimistic, runPieceOrders, type FreeRiderRow, type OptimisticResult, type OptimisticRow, type PieceOrderResult, type PieceOrderRow, type PolicyOptions } from './policies.js';
export { freeRiderChart, freeRiderCsv, freeRiderTable, optimisticChart, optimisticCsv, optimisticTable, pieceOrderChart, pieceOrderCsv, pieceOrderTable } from './policy-report.js';
