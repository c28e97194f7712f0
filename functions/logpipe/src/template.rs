//! The index template we install, so that fields get real types instead of
//! dynamic mapping's strings (DESIGN.md §2.4, §3).

use serde_json::Value;

/// The templates as shipped, for the default index names.
pub const ACCESS_LOGS_TEMPLATE: &str = include_str!("../templates/access-logs.json");
pub const DEAD_LETTERS_TEMPLATE: &str = include_str!("../templates/dead-letters.json");

/// The index template body for `PUT _index_template/<name>`, matching exactly
/// the index `index`. Long keyword fields keep `ignore_above` so that a huge
/// URL is stored but not indexed, instead of failing the document.
pub fn access_logs_template(index: &str) -> Value {
    for_index(ACCESS_LOGS_TEMPLATE, index)
}

/// The dead-letter index's template, matching exactly `index`.
pub fn dead_letters_template(index: &str) -> Value {
    for_index(DEAD_LETTERS_TEMPLATE, index)
}

/// The name we install a template under: one per index, so two deployments
/// with different indices in one cluster do not overwrite each other.
pub fn template_name(index: &str) -> String {
    format!("logpipe-{index}")
}

fn for_index(shipped: &str, index: &str) -> Value {
    let mut template: Value =
        serde_json::from_str(shipped).expect("the shipped templates are valid JSON");
    template["index_patterns"] = Value::from(vec![index]);
    template
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Document, KafkaCoordinates};
    use crate::generate::{Generator, GeneratorConfig};

    #[test]
    fn mappings_follow_the_design() {
        let t = access_logs_template("my_logs");
        assert_eq!(t["index_patterns"], serde_json::json!(["my_logs"]));
        let p = &t["template"]["mappings"]["properties"];
        for (field, ty) in [
            ("ip", "ip"),
            ("timestamp", "date"),
            ("method", "keyword"),
            ("endpoint", "keyword"),
            ("protocol", "keyword"),
            ("referrer", "keyword"),
            ("status", "short"),
            ("size", "long"),
            ("user_agent", "text"),
        ] {
            assert_eq!(p[field]["type"], ty, "{field}");
        }
        assert_eq!(p["user_agent"]["fields"]["keyword"]["type"], "keyword");
        assert_eq!(p["kafka"]["properties"]["offset"]["type"], "long");
    }

    /// With `dynamic: strict`, a document field missing from the mapping would
    /// be rejected by Elasticsearch: every field we send must be mapped.
    #[test]
    fn every_document_field_is_mapped() {
        let t = access_logs_template("x");
        let mapped = &t["template"]["mappings"]["properties"];
        let record = Generator::new(GeneratorConfig::default()).record();
        let kafka = KafkaCoordinates {
            topic: "t".into(),
            partition: 0,
            offset: 0,
        };
        let doc = serde_json::to_value(Document {
            record: &record,
            kafka: Some(&kafka),
        })
        .unwrap();
        for (field, value) in doc.as_object().unwrap() {
            assert!(mapped.get(field).is_some(), "{field} is not mapped");
            if let Some(inner) = value.as_object() {
                for sub in inner.keys() {
                    assert!(
                        mapped[field]["properties"].get(sub).is_some(),
                        "{field}.{sub}"
                    );
                }
            }
        }
    }
}
