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

    /// Every NGINX variable and Apache directive of a user format whose
    /// value is a number or a list is mapped with a type that holds it;
    /// the other fields come in through the dynamic template as keywords.
    #[test]
    fn every_typed_user_format_field_is_mapped_with_its_type() {
        use crate::parse::LogFormat;
        use crate::record::ValueKind;

        const NGINX: &[&str] = &[
            "request_time",
            "connection_time",
            "session_time",
            "gzip_ratio",
            "upstream_connect_time",
            "upstream_header_time",
            "upstream_response_time",
            "upstream_queue_time",
            "upstream_first_byte_time",
            "upstream_session_time",
            "request_length",
            "connection",
            "connection_requests",
            "content_length",
            "server_port",
            "remote_port",
            "realip_remote_port",
            "proxy_protocol_port",
            "proxy_protocol_server_port",
            "pid",
            "bytes_received",
            "connections_active",
            "connections_reading",
            "connections_writing",
            "connections_waiting",
            "tcpinfo_rtt",
            "tcpinfo_rttvar",
            "tcpinfo_snd_cwnd",
            "tcpinfo_rcv_space",
            "upstream_status",
            "upstream_bytes_received",
            "upstream_bytes_sent",
            "upstream_response_length",
            "upstream_addr",
            "msec",
            "bytes_sent",
        ];
        const APACHE: &[&str] = &[
            "%D",
            "%T",
            "%{ms}T",
            "%I",
            "%O",
            "%S",
            "%p",
            "%{local}p",
            "%{remote}p",
            "%P",
            "%{tid}P",
            "%k",
            "%s",
            "%{sec}t",
        ];
        let nginx = std::iter::once("[$time_local] $status $body_bytes_sent".to_owned())
            .chain(NGINX.iter().map(|name| format!("{name}=${name}")))
            .collect::<Vec<_>>()
            .join(" ");
        let apache = std::iter::once(r#"%t %>s %B"#.to_owned())
            .chain(APACHE.iter().enumerate().map(|(i, d)| format!("f{i}={d}")))
            .collect::<Vec<_>>()
            .join(" ");
        let nginx_line = std::iter::once("[10/Oct/2000:13:55:36 -0700] 200 1".to_owned())
            .chain(NGINX.iter().map(|name| format!("{name}=1")))
            .collect::<Vec<_>>()
            .join(" ");
        let apache_line = std::iter::once("[10/Oct/2000:13:55:36 -0700] 200 1".to_owned())
            .chain((0..APACHE.len()).map(|i| format!("f{i}=1")))
            .collect::<Vec<_>>()
            .join(" ");

        let t = access_logs_template("x");
        let mapped = &t["template"]["mappings"]["properties"];
        let mut seen = 0;
        for (spec, line) in [(nginx, nginx_line), (apache, apache_line)] {
            let format: LogFormat = spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"));
            let record = format
                .parse_line(&line)
                .unwrap_or_else(|e| panic!("{line}: {e}"));
            for extra in &record.extra {
                let ty = mapped[&*extra.name]["type"].as_str();
                let fits = match extra.kind {
                    ValueKind::Float | ValueKind::FloatList => ty == Some("float"),
                    ValueKind::Integer | ValueKind::IntegerList => {
                        matches!(ty, Some("short" | "integer" | "long"))
                    }
                    ValueKind::Keyword | ValueKind::KeywordList => {
                        ty.is_none() || ty == Some("keyword")
                    }
                };
                assert!(
                    fits,
                    "{} ({:?}) is mapped as {ty:?}",
                    extra.name, extra.kind
                );
                seen += 1;
            }
        }
        assert_eq!(
            seen,
            NGINX.len() + APACHE.len(),
            "every variable became a field"
        );
    }
}
