//! TLS with libpq's six `sslmode`s, on rustls.
//!
//! | mode | TLS | verification |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow` | only if plain is refused | none |
//! | `prefer` (default) | if offered, else plain | none |
//! | `require` | mandatory | none, unless a root certificate is configured: then as `verify-ca` (libpq's compatibility rule) |
//! | `verify-ca` | mandatory | chain (+ CRL), not the host name |
//! | `verify-full` | mandatory | chain (+ CRL) and host name |
//!
//! LightRAG differs: its `require`/`prefer` verify against the system CAs with no
//! plaintext fallback, `allow` acts as unset, and a CRL breaks its start-up.

use std::path::Path;
use std::sync::Arc;

use lightrag_pg_core::Error;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::{SslConfig, SslMode};

fn tls_err(message: impl Into<String>) -> Error {
    Error::Tls { message: message.into(), source: None }
}

fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Tls {
        message: format!("cannot read {what} '{}'", path.display()),
        source: Some(Box::new(e)),
    })
}

fn load_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read_pem(path, what)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls { message: format!("bad PEM in {what} '{}'", path.display()), source: Some(Box::new(e)) })?;
    if certs.is_empty() {
        return Err(tls_err(format!("no certificate in {what} '{}'", path.display())));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read_pem(path, "client key")?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| Error::Tls { message: format!("bad PEM in client key '{}'", path.display()), source: Some(Box::new(e)) })?
        .ok_or_else(|| tls_err(format!("no private key in '{}'", path.display())))
}

fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, Error> {
    let pem = read_pem(path, "CRL")?;
    let crls: Vec<_> = rustls_pemfile::crls(&mut pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls { message: format!("bad PEM in CRL '{}'", path.display()), source: Some(Box::new(e)) })?;
    if crls.is_empty() {
        return Err(tls_err(format!("no CRL in '{}'", path.display())));
    }
    Ok(crls)
}

/// The server-certificate check for one mode: none, chain only, or chain and
/// host name.
#[derive(Debug)]
struct LibpqVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_hostname: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_hostname => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The default root file libpq reads when none is configured.
fn default_root_cert() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".postgresql").join("root.crt");
    p.exists().then_some(p)
}

/// What the chain is checked against.
fn roots(ssl: &SslConfig) -> Result<Option<RootCertStore>, Error> {
    let path = match &ssl.root_cert {
        Some(p) if p.as_os_str() == "system" => {
            let mut store = RootCertStore::empty();
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            return Ok(Some(store));
        }
        Some(p) => p.clone(),
        None => match default_root_cert() {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let mut store = RootCertStore::empty();
    for cert in load_certs(&path, "root certificate")? {
        store.add(cert).map_err(|e| Error::Tls {
            message: format!("unusable root certificate in '{}'", path.display()),
            source: Some(Box::new(e)),
        })?;
    }
    Ok(Some(store))
}

/// The rustls client configuration for `ssl`, or `None` for `disable`.
///
/// # Errors
/// [`Error::Tls`] when a file cannot be read or parsed, or `verify-ca` /
/// `verify-full` has no root certificate.
pub fn client_config(ssl: &SslConfig) -> Result<Option<ClientConfig>, Error> {
    if ssl.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifying = matches!(ssl.mode, SslMode::VerifyCa | SslMode::VerifyFull)
        || (ssl.mode == SslMode::Require && ssl.root_cert.is_some());
    let chain = if verifying {
        let store = roots(ssl)?.ok_or_else(|| {
            tls_err(format!(
                "sslmode={} needs a root certificate: set POSTGRES_SSL_ROOT_CERT (or create ~/.postgresql/root.crt)",
                ssl.mode.as_str()
            ))
        })?;
        let mut builder = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone());
        if let Some(crl) = &ssl.crl {
            builder = builder.with_crls(load_crls(crl)?).only_check_end_entity_revocation().allow_unknown_revocation_status();
        }
        Some(builder.build().map_err(|e| Error::Tls { message: "cannot build the certificate verifier".into(), source: Some(Box::new(e)) })?)
    } else {
        None
    };
    let verifier = Arc::new(LibpqVerifier { chain, check_hostname: ssl.mode == SslMode::VerifyFull, provider: provider.clone() });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls { message: "no usable TLS protocol version".into(), source: Some(Box::new(e)) })?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&ssl.cert, &ssl.key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(load_certs(cert, "client certificate")?, load_key(key)?)
            .map_err(|e| Error::Tls { message: "client certificate and key do not match".into(), source: Some(Box::new(e)) })?,
        (Some(_), None) | (None, Some(_)) => {
            return Err(tls_err("POSTGRES_SSL_CERT and POSTGRES_SSL_KEY must be given together"));
        }
        (None, None) => builder.with_no_client_auth(),
    };
    Ok(Some(config))
}

/// The driver's `sslmode` for the first connection attempt.
pub(crate) fn driver_mode(mode: SslMode) -> tokio_postgres::config::SslMode {
    use tokio_postgres::config::SslMode as M;
    match mode {
        SslMode::Disable | SslMode::Allow => M::Disable,
        SslMode::Prefer => M::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => M::Require,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssl(mode: SslMode) -> SslConfig {
        SslConfig { mode, ..SslConfig::default() }
    }

    #[test]
    fn disable_builds_no_tls() {
        assert!(client_config(&ssl(SslMode::Disable)).unwrap().is_none());
    }

    #[test]
    fn allow_prefer_and_require_need_no_root_certificate() {
        for mode in [SslMode::Allow, SslMode::Prefer, SslMode::Require] {
            assert!(client_config(&ssl(mode)).unwrap().is_some(), "{mode:?}");
        }
    }

    #[test]
    fn verify_modes_without_root_certificate_fail_clearly() {
        if default_root_cert().is_some() {
            return;
        }
        for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
            let err = client_config(&ssl(mode)).unwrap_err().to_string();
            assert!(err.contains("POSTGRES_SSL_ROOT_CERT"), "{err}");
        }
    }

    #[test]
    fn missing_files_are_named() {
        let cfg = SslConfig { root_cert: Some("/nonexistent/ca.pem".into()), ..ssl(SslMode::VerifyFull) };
        assert!(client_config(&cfg).unwrap_err().to_string().contains("/nonexistent/ca.pem"));
        let cfg = SslConfig { cert: Some("/x.pem".into()), ..ssl(SslMode::Require) };
        assert!(client_config(&cfg).unwrap_err().to_string().contains("together"));
    }

    #[test]
    fn driver_modes_follow_libpq() {
        use tokio_postgres::config::SslMode as M;
        assert!(matches!(driver_mode(SslMode::Allow), M::Disable));
        assert!(matches!(driver_mode(SslMode::Prefer), M::Prefer));
        assert!(matches!(driver_mode(SslMode::VerifyCa), M::Require));
    }
}
