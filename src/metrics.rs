//! Every metric litewire exports, with its description, in one place; served
//! in the Prometheus text format at `GET /metrics` on the HTTP port. Counters
//! count events, not deliveries to each listener, so that fan-out to
//! thousands of sockets pays nothing for them.

use std::sync::OnceLock;

use metrics::{describe_counter, describe_gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const WIRE_CONNECTIONS: &str = "litewire_wire_connections";
pub const WS_CONNECTIONS: &str = "litewire_ws_connections";
pub const NOTIFICATIONS: &str = "litewire_notifications_published_total";
pub const CHANGES: &str = "litewire_changes_total";
pub const CHANGE_LSN: &str = "litewire_change_lsn";
pub const LIVE_QUERIES: &str = "litewire_live_queries";
pub const LIVE_RERUNS: &str = "litewire_live_query_reruns_total";
pub const WRITER_WAITS: &str = "litewire_writer_waits";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later servers in the same
/// process share it) and describes the metrics.
pub fn install() {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder already installed (an embedding program's) wins.
        let _ = metrics::set_global_recorder(recorder);
        describe_gauge!(WIRE_CONNECTIONS, "open Postgres wire connections");
        describe_gauge!(WS_CONNECTIONS, "open WebSocket connections");
        describe_counter!(
            NOTIFICATIONS,
            "notifications published (NOTIFY, pg_notify, sockets, REST, change channels)"
        );
        describe_counter!(
            CHANGES,
            "committed row changes dispatched from the change log"
        );
        describe_gauge!(CHANGE_LSN, "the last LSN dispatched");
        describe_gauge!(LIVE_QUERIES, "live queries being kept current");
        describe_counter!(LIVE_RERUNS, "live query re-evaluations");
        describe_gauge!(WRITER_WAITS, "callers waiting for the writer lock");
        handle
    });
}

/// The metrics in the Prometheus text format.
pub fn render() -> String {
    HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}
