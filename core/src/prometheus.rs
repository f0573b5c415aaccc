//! `GET /metrics`: the host's figures in the Prometheus text exposition
//! format (version 0.0.4), for the monitoring operators already run.
//!
//! Per plugin (label `plugin`): calls, errors and panics (counters), call
//! latency (a histogram: every call into the plugin — routes, hooks, jobs,
//! events, lifecycle), and its recorded state (one sample labelled with the
//! state, value 1). Per entry point (labels `plugin`, `kind` — route,
//! hook, filter, event, job, lifecycle — and `name`): calls, errors,
//! panics, deadline hits, stuck, busy refusals and a latency histogram.
//! Per plugin: capacity, calls in flight, calls stuck now. Per process:
//! resident memory, threads, open files (Linux), the executor's threads,
//! and the plugins loaded and active.
//!
//! ```text
//! # TYPE plugboard_plugin_calls_total counter
//! plugboard_plugin_calls_total{plugin="guestbook"} 42
//! # TYPE plugboard_plugin_call_duration_seconds histogram
//! plugboard_plugin_call_duration_seconds_bucket{plugin="guestbook",le="0.000001024"} 3
//! …
//! ```

use std::fmt::Write as _;

use crate::{exec::CallPoint, lifecycle::PluginRecord, metrics::RawCounts, registry::PluginEntry};

/// The histogram's upper bounds are `2^(i+1)` ns for these bucket indexes
/// (about 1 µs to 69 s); faster calls fall in the first, slower in `+Inf`.
const FIRST_BUCKET: usize = 9;
const LAST_BUCKET: usize = 35;

/// Label values are slugs and state names today; escaped as the format
/// asks all the same.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric family's header.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The exposition of `entries` (the loaded plugins), `records` (every
/// recorded plugin, for its state) and the executor's (threads, idle).
pub fn render(
    entries: &[std::sync::Arc<PluginEntry>],
    records: &[PluginRecord],
    executor: (usize, usize),
) -> String {
    let mut out = String::new();
    let raw: Vec<(String, RawCounts)> = entries
        .iter()
        .map(|e| (label(e.slug()), e.metrics().raw()))
        .collect();

    let per_plugin =
        |out: &mut String, name: &str, kind: &str, help: &str, of: fn(&RawCounts) -> u64| {
            family(out, name, kind, help);
            for (slug, counts) in &raw {
                let _ = writeln!(out, "{name}{{plugin=\"{slug}\"}} {}", of(counts));
            }
        };
    per_plugin(
        &mut out,
        "plugboard_plugin_calls_total",
        "counter",
        "Calls into the plugin (routes, hooks, jobs, events, lifecycle).",
        |c| c.buckets.iter().sum(),
    );
    per_plugin(
        &mut out,
        "plugboard_plugin_errors_total",
        "counter",
        "Calls that returned an error (panics included).",
        |c| c.errors,
    );
    per_plugin(
        &mut out,
        "plugboard_plugin_panics_total",
        "counter",
        "Calls that panicked (caught at the boundary).",
        |c| c.panics,
    );
    family(
        &mut out,
        "plugboard_plugin_call_duration_seconds",
        "histogram",
        "How long calls into the plugin took.",
    );
    for (slug, counts) in &raw {
        histogram(
            &mut out,
            "plugboard_plugin_call_duration_seconds",
            &format!("plugin=\"{slug}\""),
            counts,
        );
    }
    family(
        &mut out,
        "plugboard_plugin_state",
        "gauge",
        "1 for the plugin's recorded lifecycle state.",
    );
    for record in records {
        let _ = writeln!(
            out,
            "plugboard_plugin_state{{plugin=\"{}\",state=\"{}\"}} 1",
            label(&record.slug),
            label(record.state.as_str())
        );
    }
    family(
        &mut out,
        "plugboard_plugins_loaded",
        "gauge",
        "Plugins whose code is loaded.",
    );
    let _ = writeln!(out, "plugboard_plugins_loaded {}", entries.len());
    family(
        &mut out,
        "plugboard_plugins_active",
        "gauge",
        "Plugins live (routes, hooks, jobs and subscriptions in service).",
    );
    let _ = writeln!(
        out,
        "plugboard_plugins_active {}",
        entries.iter().filter(|e| e.is_live()).count()
    );
    entry_points(&mut out, entries);
    family(
        &mut out,
        "plugboard_executor_threads",
        "gauge",
        "Threads of the executor that runs plugin calls (idle ones included).",
    );
    let _ = writeln!(out, "plugboard_executor_threads {}", executor.0);
    family(
        &mut out,
        "plugboard_executor_idle_threads",
        "gauge",
        "Idle threads of the executor.",
    );
    let _ = writeln!(out, "plugboard_executor_idle_threads {}", executor.1);
    process(&mut out);
    out
}

/// One histogram's samples (`labels` without braces) from the
/// power-of-two buckets of [`RawCounts`].
fn histogram(out: &mut String, name: &str, labels: &str, counts: &RawCounts) {
    let mut cumulative = 0u64;
    for (i, count) in counts.buckets.iter().enumerate() {
        cumulative += count;
        if (FIRST_BUCKET..=LAST_BUCKET).contains(&i) {
            let le = (1u64 << (i + 1)) as f64 / 1e9;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}",
        counts.total_ns as f64 / 1e9
    );
    let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
}

/// Per entry point (labels `plugin`, `kind`, `name`): calls, errors,
/// panics, deadline hits, stuck and busy refusals, and latency; per
/// plugin: capacity, calls in flight, calls stuck now.
fn entry_points(out: &mut String, entries: &[std::sync::Arc<PluginEntry>]) {
    let points: Vec<(String, std::sync::Arc<CallPoint>, RawCounts)> = entries
        .iter()
        .flat_map(|e| e.points())
        .map(|p| {
            let labels = format!(
                "plugin=\"{}\",kind=\"{}\",name=\"{}\"",
                label(p.slug()),
                p.kind().as_str(),
                label(p.name())
            );
            let raw = p.metrics().raw();
            (labels, p, raw)
        })
        .collect();
    type Of = fn(&CallPoint, &RawCounts) -> u64;
    let families: [(&str, &str, Of); 6] = [
        ("plugboard_call_total", "Calls into this entry point.", |_, c| c.buckets.iter().sum()),
        ("plugboard_call_errors_total", "Calls that returned an error (panics included).", |_, c| c.errors),
        ("plugboard_call_panics_total", "Calls that panicked (caught at the boundary).", |_, c| c.panics),
        ("plugboard_call_deadline_hits_total", "Calls still running at their deadline (the caller stopped waiting).", |p, _| p.deadline_hits()),
        ("plugboard_call_stuck_total", "Calls counted stuck: past their deadline, holding a thread and capacity until they return.", |p, _| p.stuck()),
        ("plugboard_call_busy_total", "Calls refused because the plugin's capacity was in use (503).", |p, _| p.busy()),
    ];
    for (name, help, of) in families {
        family(out, name, "counter", help);
        for (labels, p, raw) in &points {
            let _ = writeln!(out, "{name}{{{labels}}} {}", of(p, raw));
        }
    }
    family(
        out,
        "plugboard_call_duration_seconds",
        "histogram",
        "How long calls into this entry point took.",
    );
    for (labels, _, raw) in &points {
        histogram(out, "plugboard_call_duration_seconds", labels, raw);
    }
    type Gauge = fn(&PluginEntry) -> u32;
    let gauges: [(&str, &str, Gauge); 4] = [
        (
            "plugboard_plugin_mapped_images",
            "Distinct library images of the plugin this process maps (never unmapped).",
            |e| u32::try_from(crate::loader::mapped_images(e.slug())).unwrap_or(u32::MAX),
        ),
        (
            "plugboard_plugin_capacity",
            "Calls the plugin may have running at once.",
            |e| e.lane().capacity(),
        ),
        (
            "plugboard_plugin_calls_in_flight",
            "Calls into the plugin running now (capacity in use).",
            |e| e.lane().in_use(),
        ),
        (
            "plugboard_plugin_calls_stuck",
            "Calls into the plugin running now past their deadline.",
            |e| e.lane().stuck_now(),
        ),
    ];
    for (name, help, of) in gauges {
        family(out, name, "gauge", help);
        for e in entries {
            let _ = writeln!(out, "{name}{{plugin=\"{}\"}} {}", label(e.slug()), of(e));
        }
    }
}

/// Process figures from `/proc/self` (Linux; nothing elsewhere).
fn process(out: &mut String) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(kib) = field("VmRSS:") {
        family(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {}", kib * 1024);
    }
    if let Some(threads) = field("Threads:") {
        family(out, "process_threads", "gauge", "Threads of the process.");
        let _ = writeln!(out, "process_threads {threads}");
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        family(out, "process_open_fds", "gauge", "Open file descriptors.");
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}
