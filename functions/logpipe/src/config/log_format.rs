//! `LOG_FORMAT`: which access-log lines the indexer reads.

use super::{ConfigError, Settings};
use crate::parse::LogFormat;

/// The configured format, compiled once (a cold start's work); `auto` when
/// unset. A format that does not compile stops the start, naming the
/// setting, where it came from and the problem.
pub fn log_format(settings: &Settings) -> Result<LogFormat, ConfigError> {
    match settings.get("LOG_FORMAT") {
        None => Ok(LogFormat::Auto),
        Some(spec) => spec
            .parse()
            .map_err(|e| settings.invalid("LOG_FORMAT", format!("{e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(value: &str) -> Settings {
        Settings::from_sources([("LOG_FORMAT".to_owned(), value.to_owned())], None)
    }

    #[test]
    fn unset_is_auto() {
        let format = log_format(&Settings::default()).unwrap();
        assert_eq!(format.to_string(), "auto");
    }

    #[test]
    fn a_preset_by_name() {
        assert_eq!(
            log_format(&settings("combined")).unwrap().to_string(),
            "combined"
        );
    }

    #[test]
    fn a_bad_format_names_the_setting_and_its_origin() {
        let e = log_format(&settings("nonsense")).unwrap_err().to_string();
        assert!(
            e.starts_with("setting LOG_FORMAT (from the environment) is invalid:"),
            "{e}"
        );
        assert!(e.contains("nonsense"), "{e}");
    }
}
