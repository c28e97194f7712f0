//! The JSON objects an invocation carries under a name (`drain`, `replay`,
//! `redrive`): read with errors that say which field was wrong.

use serde::de::DeserializeOwned;

/// Reads `json`, the object given under `name`. A field that does not fit
/// is named with its path (``field `drain.max_records`: invalid type…``);
/// anything but an object is shown beside `example`, what one looks like.
pub(crate) fn read_object<T: DeserializeOwned>(
    json: &str,
    name: &str,
    example: &str,
) -> Result<T, String> {
    if !json.trim_start().starts_with('{') {
        return Err(format!(
            "`{name}` must be an object like {example}, found {json}"
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("field `{name}.{path}`: {}", e.inner()),
        }
    })
}
