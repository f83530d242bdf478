export { createProgram, runCli } from './program';
export { createProgress } from './progress';
export type { ProgressReporter, ProgressOptions } from './progress';
// Report rendering (pipeline engineer)
export { histogramChart, rateByBinChart, barChart, lineChart, chartConfig } from './report/charts';
export type { ChartSpec, HistogramSeries, HistogramChartOptions, RateByBinRow, RateByBinChartOptions, CategoryValue, BarChartOptions, LinePoint, LineChartOptions } from './report/charts';
export { marginHistogramChart, pKeepHistogramChart, flipRateByBin, flipRateChart, selectedGapChart } from './report/distribution-charts';
export type { MarginHistogramOptions, FlipRateByBinOptions, SelectedGapOptions } from './report/distribution-charts';
export { renderChart } from './report/render-chart';
export type { RenderChartOptions, RenderedChart } from './report/render-chart';
export { writeReport } from './report/write-report';
export type { ReportChart, ReportTable, ReportSection, ReportDocument, WriteReportOptions, WrittenChart, WrittenReport } from './report/write-report';
export { decodePng, countInkPixels } from './report/png';
export type { DecodedPng, PixelRegion } from './report/png';
export { reportFontFiles, measureTextWidth, REPORT_FONT_FAMILY } from './report/font';
export type { ReportFontFiles } from './report/font';
