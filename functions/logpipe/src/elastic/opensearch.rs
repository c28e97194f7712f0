//! What OpenSearch Serverless answers that Elasticsearch and OpenSearch
//! Service do not, and what we make of it.

/// Whether a `_bulk` item's refusal says the collection assigns document
/// ids itself: Serverless collections of type *time series* (and *vector
/// search*) refuse a caller's `_id`, which our exactly-once indexing needs
/// (`{topic}-{partition}-{offset}`). Not the record's fault: every record
/// would be refused alike, so none may be dead-lettered for it.
pub fn refuses_document_ids(status: u16, error_type: Option<&str>, reason: Option<&str>) -> bool {
    status == 400
        && matches!(error_type, None | Some("illegal_argument_exception"))
        && reason.is_some_and(|reason| {
            reason
                .to_ascii_lowercase()
                .contains("document id is not supported")
        })
}

/// The configuration error that refusal means, for the operator.
pub fn document_ids_refused(reason: &str) -> String {
    format!(
        "the collection refuses document ids ({reason}): an OpenSearch Serverless collection of \
         type time series or vector search assigns its own, and logpipe indexes each record once \
         under its own id ({{topic}}-{{partition}}-{{offset}}); index into a collection of type \
         search (records are not dead-lettered for this)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_series_refusal_and_nothing_else() {
        let reason = "Document ID is not supported in create/index operation request";
        assert!(refuses_document_ids(
            400,
            Some("illegal_argument_exception"),
            Some(reason)
        ));
        assert!(refuses_document_ids(400, None, Some(reason)));
        // A document's own fault, or the same words under another status.
        assert!(!refuses_document_ids(
            400,
            Some("mapper_parsing_exception"),
            Some("failed to parse field [status]")
        ));
        assert!(!refuses_document_ids(
            400,
            Some("illegal_argument_exception"),
            Some("Limit of total fields [1000] has been exceeded")
        ));
        assert!(!refuses_document_ids(
            409,
            Some("illegal_argument_exception"),
            Some(reason)
        ));
        assert!(!refuses_document_ids(
            400,
            Some("illegal_argument_exception"),
            None
        ));
        assert!(document_ids_refused(reason).contains("type search"));
    }
}
