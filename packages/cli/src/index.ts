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
// Pipelines (pipeline engineer)
export { runSteps, readAllRecords, numericColumn, STATE_FILE } from './pipeline/runner';
export type { PipelineStep, StepContext, StepOutcome, RunStepsOptions, RunStepsResult } from './pipeline/runner';
export { runPipeline, pipelineSteps, PIPELINE_NAMES } from './pipeline/run-pipeline';
export type { PipelineName, PipelineOptionsByName, RunPipelineOptions } from './pipeline/run-pipeline';
export { readPipelineFile } from './pipeline/pipeline-config';
export type { PipelineFile } from './pipeline/pipeline-config';
export { defaultRewardModelDir, defaultSamplePath } from './pipeline/defaults';
export { privatizeSteps } from './pipeline/privatize';
export type { PrivatizePipelineOptions, PrivatizeStepResult } from './pipeline/privatize';
