//! Outbound TLS for connections reqwest does not make (PostgreSQL, WebSocket subscriptions):
//! rustls with ring's provider, trusting the system's roots (which honour `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`), or only the certificates of a CA file when one is given.

use crate::error::{Error, Result};
use std::sync::Arc;

/// A rustls client configuration trusting `ca_file` (its PEM certificates; `setting` names
/// it in errors) or, without one, the system's roots.
pub fn client_config(ca_file: Option<&std::path::Path>, setting: &str) -> Result<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| Error::validation(setting, format!("{}: {e}", path.display())))?;
            for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| Error::validation(setting, format!("not PEM certificates: {e}")))?;
                roots.add(cert).map_err(|e| Error::validation(setting, format!("a certificate is invalid: {e}")))?;
            }
            if roots.is_empty() {
                return Err(Error::validation(setting, "holds no certificate"));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    // ring's provider, as for every other outbound TLS connection of the daemon (deprecated
    // only for lacking post-quantum key exchange, which ring does not offer).
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(Error::internal_from)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
