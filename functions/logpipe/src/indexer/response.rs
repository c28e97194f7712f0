//! The Kafka partial-batch response (`ReportBatchItemFailures`);
//! `aws_lambda_events` has no type for Kafka's shape, so it is defined here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaBatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: KafkaItemIdentifier,
}

/// `partition` is `<topic>-<partition>`, as the event keyed the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaItemIdentifier {
    pub partition: String,
    pub offset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let r = KafkaBatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: KafkaItemIdentifier {
                    partition: "logs-0".into(),
                    offset: 7,
                },
            }],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":{"partition":"logs-0","offset":7}}]}"#
        );
    }
}
