//! Prometheus metrics: runs by verdict and language, queue depth, runs in progress, latency.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RunLabels {
    pub language: String,
    pub verdict: String,
}

pub struct Metrics {
    registry: Registry,
    pub runs: Family<RunLabels, Counter>,
    pub rejected: Counter,
    pub queue_depth: Gauge,
    pub running: Gauge,
    pub latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tandem_exec");
        let runs = Family::<RunLabels, Counter>::default();
        let rejected = Counter::default();
        let queue_depth = Gauge::default();
        let running = Gauge::default();
        // 10 ms … ~40 s
        let latency = Histogram::new(exponential_buckets(0.01, 2.0, 13));
        registry.register("runs", "Finished runs by language and verdict", runs.clone());
        registry.register(
            "rejected_busy",
            "Runs refused because the queue was full",
            rejected.clone(),
        );
        registry.register("queue_depth", "Runs waiting for a slot", queue_depth.clone());
        registry.register("running", "Runs executing now", running.clone());
        registry.register("run_latency_seconds", "Request accepted to verdict", latency.clone());
        Self {
            registry,
            runs,
            rejected,
            queue_depth,
            running,
            latency,
        }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
