// The Prometheus text-format parser the metrics tests read /metrics with; the package ships no types.
declare module 'parse-prometheus-text-format' {
  export interface Sample {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  export interface Family {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: Sample[];
  }
  /** @throws InvalidLineError on a line that is not in the format */
  export default function parsePrometheusTextFormat(text: string): Family[];
}
