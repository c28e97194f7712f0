//! How a client checks the certificate of a server it speaks TLS to.

use super::{ConfigError, Settings};

/// Certificate verification towards one service. It is on unless a setting
/// turns it off, which is meant for local test servers only: without it,
/// anyone on the path can read and change the traffic, credentials included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsVerification {
    /// Against the system's trusted roots.
    #[default]
    Roots,
    /// Against this CA certificate (PEM) as well: a private cluster's own CA.
    CustomCa(String),
    /// Not at all (`<SERVICE>_TLS_VERIFY=false`).
    Off,
}

impl TlsVerification {
    /// From `ca` (a PEM certificate, or the path of a file holding one) and
    /// `verify` (`true` by default).
    pub(crate) fn from_settings(
        settings: &Settings,
        ca: &'static str,
        verify: &'static str,
    ) -> Result<Self, ConfigError> {
        let verified: bool = settings.parse_or(verify, true, "true or false")?;
        match (settings.get(ca), verified) {
            (Some(_), false) => Err(ConfigError::Conflict(format!(
                "set {ca} or {verify}=false, not both"
            ))),
            (None, false) => Ok(TlsVerification::Off),
            (None, true) => Ok(TlsVerification::Roots),
            (Some(value), true) => read_pem(settings, ca, value).map(TlsVerification::CustomCa),
        }
    }

    /// The warning to log at cold start, when verification is off.
    pub fn warning(&self, service: &str, setting: &str) -> Option<String> {
        (*self == TlsVerification::Off).then(|| {
            format!(
                "TLS certificate verification towards {service} is OFF ({setting}=false): \
                 for local test servers only, never in production"
            )
        })
    }
}

/// The PEM text of `value`: the value itself, or the file it names.
fn read_pem(settings: &Settings, name: &'static str, value: &str) -> Result<String, ConfigError> {
    let pem = if value.starts_with("-----BEGIN") {
        value.to_owned()
    } else {
        std::fs::read_to_string(value).map_err(|e| {
            settings.invalid(
                name,
                format!("cannot read the certificate file {value:?}: {e}"),
            )
        })?
    };
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(settings.invalid(
            name,
            "holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)".to_owned(),
        ));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "ELASTICSEARCH_CA_CERT";
    const VERIFY: &str = "ELASTICSEARCH_TLS_VERIFY";
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

    fn tls(pairs: &[(&str, &str)]) -> Result<TlsVerification, ConfigError> {
        let env = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        TlsVerification::from_settings(&Settings::from_sources(env, None), CA, VERIFY)
    }

    #[test]
    fn verification_is_on_by_default() {
        assert_eq!(tls(&[]).unwrap(), TlsVerification::Roots);
        assert_eq!(tls(&[(VERIFY, "true")]).unwrap(), TlsVerification::Roots);
        assert_eq!(tls(&[]).unwrap().warning("x", VERIFY), None);
    }

    #[test]
    fn turning_it_off_is_explicit_and_warned_about() {
        let off = tls(&[(VERIFY, "false")]).unwrap();
        assert_eq!(off, TlsVerification::Off);
        let warning = off.warning("Elasticsearch", VERIFY).unwrap();
        assert!(
            warning.contains("OFF (ELASTICSEARCH_TLS_VERIFY=false)"),
            "{warning}"
        );
        let err = tls(&[(VERIFY, "no")]).unwrap_err().to_string();
        assert!(
            err.contains("ELASTICSEARCH_TLS_VERIFY") && err.contains("true or false"),
            "{err}"
        );
    }

    #[test]
    fn a_ca_is_pem_text_or_a_file() {
        assert_eq!(
            tls(&[(CA, PEM)]).unwrap(),
            TlsVerification::CustomCa(PEM.into())
        );
        let dir = std::env::temp_dir().join(format!("logpipe-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, PEM).unwrap();
        let path = file.to_str().unwrap();
        assert_eq!(
            tls(&[(CA, path)]).unwrap(),
            TlsVerification::CustomCa(PEM.into())
        );

        let missing = dir.join("missing.pem");
        let err = tls(&[(CA, missing.to_str().unwrap())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ELASTICSEARCH_CA_CERT") && err.contains("cannot read"),
            "{err}"
        );
        std::fs::write(&file, "not a certificate").unwrap();
        let err = tls(&[(CA, path)]).unwrap_err().to_string();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_and_no_verification_conflict() {
        let err = tls(&[(CA, PEM), (VERIFY, "false")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not both"), "{err}");
    }
}
