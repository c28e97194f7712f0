//! CloudWatch metrics in the Embedded Metric Format: a JSON log line that
//! CloudWatch turns into metrics, with no API call from the function.

use serde_json::{Map, Value, json};

/// The namespace of every logpipe metric.
pub const NAMESPACE: &str = "logpipe";

/// Writes one EMF line to stdout, where Lambda's log capture picks it up.
pub fn print_emf(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)]) {
    println!("{}", emf_line(dimensions, metrics));
}

/// One EMF log line: `metrics` as (name, value, unit), under `dimensions`.
pub fn emf_line(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)]) -> String {
    let timestamp_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": metrics
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).into(), Value::from(*value));
    }
    for (name, value, _) in metrics {
        root.insert((*name).into(), Value::from(*value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_shape() {
        let line = emf_line(&[("Function", "producer")], &[("Produced", 3.0, "Count")]);
        let v: Value = serde_json::from_str(&line).unwrap();
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "logpipe");
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "Produced", "Unit": "Count"}])
        );
        assert_eq!(v["Function"], "producer");
        assert_eq!(v["Produced"], 3.0);
        assert!(v["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
