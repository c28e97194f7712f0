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

    /// A document field missing from the mapping would be typed by
    /// Elasticsearch's guess (or, inside `kafka`, rejected): every field the
    /// built-in formats produce must be mapped, whatever the line held.
    #[test]
    fn every_document_field_is_mapped() {
        use std::borrow::Cow;
        use std::sync::Arc;

        use crate::record::{Extra, ValueKind};

        let t = access_logs_template("x");
        let mapped = &t["template"]["mappings"]["properties"];
        let mut everything = Generator::new(GeneratorConfig::default()).record();
        everything.client_host = Some(Cow::Borrowed("client.example.net"));
        everything.forwarded_for = Some(Cow::Borrowed("203.0.113.7, unknown"));
        everything.vhost = Some(Cow::Borrowed("www.example.com"));
        everything.ident = Some(Cow::Borrowed("identd-answer"));
        everything.user = Some(Cow::Borrowed("frank"));
        everything.extra = ["server_port", "trailing"]
            .into_iter()
            .map(|name| Extra {
                name: Arc::from(name),
                kind: ValueKind::Keyword,
                value: Cow::Borrowed("1"),
            })
            .collect();
        let mut raw_request = everything.clone();
        raw_request.request = Some(Cow::Borrowed("-"));
        let kafka = KafkaCoordinates {
            topic: "t".into(),
            partition: 0,
            offset: 0,
        };
        let mut fields = std::collections::BTreeSet::new();
        for record in [&everything, &raw_request] {
            let doc = serde_json::to_value(Document {
                record,
                kafka: Some(&kafka),
            })
            .unwrap();
            for (field, value) in doc.as_object().unwrap() {
                assert!(mapped.get(field).is_some(), "{field} is not mapped");
                fields.insert(field.clone());
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
        assert_eq!(fields.len(), 19, "the test covers every field: {fields:?}");
        assert_eq!(mapped["forwarded_for"]["type"], "ip");
        assert_eq!(mapped["server_port"]["type"], "integer");
        assert_eq!(mapped["kafka"]["dynamic"], "strict");
    }
}
