//! TLS with libpq's six `sslmode`s, on rustls.
//!
//! | mode | TLS | verification |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow` | only if plain is refused | none |
//! | `prefer` (default) | if offered, else plain | none |
//! | `require` | mandatory | none, unless a root certificate is configured (or `~/.postgresql/root.crt` exists): then as `verify-ca` (libpq's compatibility rule) |
//! | `verify-ca` | mandatory | chain (+ CRL), not the host name |
//! | `verify-full` | mandatory | chain (+ CRL) and host name (DNS name or IP address in the certificate's SAN) |
//!
//! - The root certificate is `POSTGRES_SSL_ROOT_CERT`, else
//!   `~/.postgresql/root.crt`; `system` means the platform's (webpki) roots and,
//!   as in libpq 16, demands `verify-full`.
//! - A CRL (`POSTGRES_SSL_CRL`) is checked for the server's own certificate; the
//!   CRL of its issuer must be in the file (an unknown revocation status fails,
//!   as with libpq's OpenSSL flags).
//! - A client certificate and key (`POSTGRES_SSL_CERT`, `POSTGRES_SSL_KEY`) are
//!   sent in every TLS mode when both are given.
//!
//! LightRAG differs: its `require`/`prefer` verify against the system CAs with no
//! plaintext fallback, `allow` acts as unset, the certificate settings are
//! ignored outside `verify-*`, and a CRL breaks its start-up.

use std::path::Path;
use std::sync::Arc;

use lightrag_pg_core::Error;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::{SslConfig, SslMode};

fn tls_err(message: impl Into<String>) -> Error {
    Error::Tls { message: message.into(), source: None }
}

/// Every PEM section of type `T` in the file at `path` (PEM parsing is
/// `rustls-pki-types`'); `what` names the file and `noun` the section in errors,
/// and a file without any such section is refused.
fn load_pem<T: PemObject>(path: &Path, what: &str, noun: &str) -> Result<Vec<T>, Error> {
    let pem = std::fs::read(path).map_err(|e| Error::Tls {
        message: format!("cannot read {what} '{}'", path.display()),
        source: Some(Box::new(e)),
    })?;
    let items: Vec<T> = T::pem_slice_iter(&pem).collect::<Result<_, _>>().map_err(|e| Error::Tls {
        message: format!("bad PEM in {what} '{}'", path.display()),
        source: Some(Box::new(e)),
    })?;
    if items.is_empty() {
        return Err(tls_err(format!("no {noun} in {what} '{}'", path.display())));
    }
    Ok(items)
}

fn load_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    load_pem(path, what, "certificate")
}

/// The first private key (PKCS#1, SEC1 or PKCS#8) of the client key file.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let mut keys = load_pem(path, "client key", "private key")?;
    Ok(keys.swap_remove(0))
}

fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, Error> {
    load_pem(path, "CRL file", "CRL")
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

/// How a mode checks the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Anything is accepted (the connection is encrypted, not authenticated).
    None,
    /// The chain must lead to a configured root; the host name is not checked.
    Chain,
    /// The chain and the host name.
    ChainAndHostName,
}

/// The check for `ssl` (`None` for `disable`): libpq's table.
pub(crate) fn verification(ssl: &SslConfig) -> Option<Verification> {
    Some(match ssl.mode {
        SslMode::Disable => return None,
        SslMode::Allow | SslMode::Prefer => Verification::None,
        SslMode::Require if ssl.root_cert.is_some() || default_root_cert().is_some() => Verification::Chain,
        SslMode::Require => Verification::None,
        SslMode::VerifyCa => Verification::Chain,
        SslMode::VerifyFull => Verification::ChainAndHostName,
    })
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

/// The server-certificate check for `ssl` (not `disable`).
fn verifier(ssl: &SslConfig, provider: Arc<CryptoProvider>) -> Result<LibpqVerifier, Error> {
    if ssl.root_cert.as_deref() == Some(Path::new("system")) && ssl.mode != SslMode::VerifyFull {
        return Err(tls_err(format!(
            "weak sslmode \"{}\" may not be used with POSTGRES_SSL_ROOT_CERT=system (use verify-full), as in libpq",
            ssl.mode.as_str()
        )));
    }
    let check = verification(ssl).unwrap_or(Verification::None);
    let chain = if check == Verification::None {
        None
    } else {
        let store = roots(ssl)?.ok_or_else(|| {
            tls_err(format!(
                "sslmode={} needs a root certificate: set POSTGRES_SSL_ROOT_CERT (or create ~/.postgresql/root.crt)",
                ssl.mode.as_str()
            ))
        })?;
        let mut builder = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone());
        if let Some(crl) = &ssl.crl {
            builder = builder.with_crls(load_crls(crl)?).only_check_end_entity_revocation();
        }
        Some(builder.build().map_err(|e| Error::Tls {
            message: "cannot build the certificate verifier".into(),
            source: Some(Box::new(e)),
        })?)
    };
    Ok(LibpqVerifier { chain, check_hostname: check == Verification::ChainAndHostName, provider })
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
    let verifier = Arc::new(verifier(ssl, provider.clone())?);
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls { message: "no usable TLS protocol version".into(), source: Some(Box::new(e)) })?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&ssl.cert, &ssl.key) {
        (Some(cert), Some(key)) => {
            builder.with_client_auth_cert(load_certs(cert, "client certificate")?, load_key(key)?).map_err(|e| {
                Error::Tls { message: "client certificate and key do not match".into(), source: Some(Box::new(e)) }
            })?
        }
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
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer, KeyIdMethod,
        KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
    };

    fn ssl(mode: SslMode) -> SslConfig {
        SslConfig { mode, ..SslConfig::default() }
    }

    /// A CA, its PEM file, and what it signs.
    struct Ca {
        issuer: Issuer<'static, KeyPair>,
        pem_path: std::path::PathBuf,
    }

    fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
        // Under target/, not the system temp dir: build output, cleaned with it.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/tmp")
            .join(format!("pg-pool-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn ca(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem_path = temp_file(&format!("{name}.pem"), &cert.pem());
        Ca { issuer: Issuer::new(params, key), pem_path }
    }

    fn leaf(ca: &Ca, names: &[&str], serial: u64) -> CertificateDer<'static> {
        let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
        params.serial_number = Some(SerialNumber::from(serial));
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let key = KeyPair::generate().unwrap();
        params.signed_by(&key, &ca.issuer).unwrap().der().clone()
    }

    fn crl(ca: &Ca, revoked: u64, name: &str) -> std::path::PathBuf {
        let crl = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(revoked),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&ca.issuer)
        .unwrap();
        temp_file(name, &crl.pem().unwrap())
    }

    fn check(ssl: &SslConfig, cert: &CertificateDer<'_>, host: &str) -> Result<(), rustls::Error> {
        let v = verifier(ssl, Arc::new(rustls::crypto::ring::default_provider())).expect("verifier");
        let name = ServerName::try_from(host.to_owned()).unwrap();
        v.verify_server_cert(cert, &[], &name, &[], UnixTime::now()).map(|_| ())
    }

    fn with_root(mode: SslMode, ca: &Ca) -> SslConfig {
        SslConfig { root_cert: Some(ca.pem_path.clone()), ..ssl(mode) }
    }

    #[test]
    fn disable_builds_no_tls_and_connects_plain() {
        use tokio_postgres::config::SslMode as M;
        assert!(client_config(&ssl(SslMode::Disable)).unwrap().is_none());
        assert!(matches!(driver_mode(SslMode::Disable), M::Disable));
        assert_eq!(verification(&ssl(SslMode::Disable)), None);
    }

    #[test]
    fn allow_tries_plain_first_and_accepts_any_certificate() {
        use tokio_postgres::config::SslMode as M;
        let other = ca("allow-unknown-ca");
        assert!(matches!(driver_mode(SslMode::Allow), M::Disable), "plain first; TLS only when refused");
        assert!(client_config(&ssl(SslMode::Allow)).unwrap().is_some(), "TLS is ready for the second attempt");
        assert_eq!(verification(&ssl(SslMode::Allow)), Some(Verification::None));
        check(&ssl(SslMode::Allow), &leaf(&other, &["elsewhere"], 1), "localhost").unwrap();
    }

    #[test]
    fn prefer_uses_tls_when_offered_without_verification() {
        use tokio_postgres::config::SslMode as M;
        let ours = ca("prefer-ca");
        let other = ca("prefer-other-ca");
        assert!(matches!(driver_mode(SslMode::Prefer), M::Prefer));
        assert_eq!(verification(&with_root(SslMode::Prefer, &ours)), Some(Verification::None));
        check(&with_root(SslMode::Prefer, &ours), &leaf(&other, &["elsewhere"], 1), "localhost").unwrap();
    }

    #[test]
    fn require_without_a_root_certificate_encrypts_without_verification() {
        use tokio_postgres::config::SslMode as M;
        if default_root_cert().is_some() {
            return; // ~/.postgresql/root.crt turns require into verify-ca, as in libpq
        }
        let other = ca("require-unknown-ca");
        assert!(matches!(driver_mode(SslMode::Require), M::Require));
        assert_eq!(verification(&ssl(SslMode::Require)), Some(Verification::None));
        check(&ssl(SslMode::Require), &leaf(&other, &["elsewhere"], 1), "localhost").unwrap();
    }

    #[test]
    fn require_with_a_root_certificate_acts_as_verify_ca() {
        let ours = ca("require-ca");
        let other = ca("require-other-ca");
        let cfg = with_root(SslMode::Require, &ours);
        assert_eq!(verification(&cfg), Some(Verification::Chain));
        check(&cfg, &leaf(&ours, &["localhost"], 2), "127.0.0.1").expect("the host name is not checked");
        assert!(check(&cfg, &leaf(&other, &["localhost"], 2), "localhost").is_err(), "the chain is checked");
    }

    #[test]
    fn verify_ca_checks_the_chain_but_not_the_host_name() {
        use tokio_postgres::config::SslMode as M;
        let ours = ca("verify-ca-ca");
        let other = ca("verify-ca-other-ca");
        let cfg = with_root(SslMode::VerifyCa, &ours);
        assert!(matches!(driver_mode(SslMode::VerifyCa), M::Require));
        assert_eq!(verification(&cfg), Some(Verification::Chain));
        check(&cfg, &leaf(&ours, &["db.internal"], 3), "127.0.0.1").unwrap();
        let err = check(&cfg, &leaf(&other, &["db.internal"], 3), "db.internal").unwrap_err();
        assert!(matches!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)), "{err:?}");
    }

    #[test]
    fn verify_full_checks_the_chain_and_the_host_name() {
        use tokio_postgres::config::SslMode as M;
        let ours = ca("verify-full-ca");
        let other = ca("verify-full-other-ca");
        let cfg = with_root(SslMode::VerifyFull, &ours);
        assert!(matches!(driver_mode(SslMode::VerifyFull), M::Require));
        assert_eq!(verification(&cfg), Some(Verification::ChainAndHostName));
        check(&cfg, &leaf(&ours, &["localhost", "127.0.0.1"], 4), "localhost").unwrap();
        check(&cfg, &leaf(&ours, &["localhost", "127.0.0.1"], 4), "127.0.0.1").unwrap();
        let err = check(&cfg, &leaf(&ours, &["localhost"], 4), "127.0.0.1").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{err:?}"
        );
        assert!(check(&cfg, &leaf(&other, &["localhost"], 4), "localhost").is_err());
    }

    #[test]
    fn a_revoked_server_certificate_fails_when_the_crl_is_given() {
        let ours = ca("crl-ca");
        let crl_path = crl(&ours, 0x1001, "crl-ca.crl.pem");
        let cfg = SslConfig { crl: Some(crl_path), ..with_root(SslMode::VerifyFull, &ours) };
        let err = check(&cfg, &leaf(&ours, &["localhost"], 0x1001), "localhost").unwrap_err();
        assert!(matches!(err, rustls::Error::InvalidCertificate(CertificateError::Revoked)), "{err:?}");
        check(&cfg, &leaf(&ours, &["localhost"], 0x1002), "localhost").expect("a certificate not on the list passes");
        let no_crl = with_root(SslMode::VerifyFull, &ours);
        check(&no_crl, &leaf(&ours, &["localhost"], 0x1001), "localhost").expect("without the CRL nothing is revoked");
    }

    #[test]
    fn a_crl_of_another_issuer_leaves_the_status_unknown_and_fails() {
        let ours = ca("crl-unknown-ca");
        let other = ca("crl-unknown-other-ca");
        let cfg = SslConfig { crl: Some(crl(&other, 7, "other.crl.pem")), ..with_root(SslMode::VerifyCa, &ours) };
        let err = check(&cfg, &leaf(&ours, &["localhost"], 8), "localhost").unwrap_err();
        assert!(matches!(err, rustls::Error::InvalidCertificate(CertificateError::UnknownRevocationStatus)), "{err:?}");
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
    fn the_system_roots_demand_verify_full() {
        for mode in [SslMode::Allow, SslMode::Prefer, SslMode::Require, SslMode::VerifyCa] {
            let cfg = SslConfig { root_cert: Some("system".into()), ..ssl(mode) };
            let err = client_config(&cfg).unwrap_err().to_string();
            assert!(err.contains("weak sslmode") && err.contains("verify-full"), "{mode:?}: {err}");
        }
        let cfg = SslConfig { root_cert: Some("system".into()), ..ssl(SslMode::VerifyFull) };
        assert!(client_config(&cfg).unwrap().is_some());
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let cfg = SslConfig { cert: Some("/x.pem".into()), ..ssl(SslMode::Require) };
        assert!(client_config(&cfg).unwrap_err().to_string().contains("together"));
    }

    #[test]
    fn pem_files_load_every_section_of_their_kind_and_skip_the_others() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["client".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "client");
        let cert = params.self_signed(&key).unwrap();
        let both = temp_file("cert-and-key.pem", &format!("{}{}", cert.pem(), key.serialize_pem()));
        assert_eq!(load_certs(&both, "client certificate").unwrap(), vec![cert.der().clone()]);
        assert_eq!(load_key(&both).unwrap().secret_der(), key.serialized_der());
        let ours = ca("pem-ca");
        let crls = load_crls(&crl(&ours, 7, "pem-crl.pem")).unwrap();
        assert_eq!(crls.len(), 1);
    }

    #[test]
    fn pem_files_without_their_section_or_with_a_broken_one_are_refused_by_name() {
        let ours = ca("pem-kinds-ca");
        let err = load_key(&ours.pem_path).unwrap_err().to_string();
        assert!(err.contains("no private key") && err.contains("pem-kinds-ca.pem"), "{err}");
        let err = load_crls(&ours.pem_path).unwrap_err().to_string();
        assert!(err.contains("no CRL"), "{err}");
        let broken = temp_file("broken.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
        let err = load_certs(&broken, "root certificate").unwrap_err().to_string();
        assert!(err.contains("bad PEM in root certificate") && err.contains("broken.pem"), "{err}");
    }

    #[test]
    fn missing_files_are_named() {
        let cfg = SslConfig { root_cert: Some("/nonexistent/ca.pem".into()), ..ssl(SslMode::VerifyFull) };
        assert!(client_config(&cfg).unwrap_err().to_string().contains("/nonexistent/ca.pem"));
        let ours = ca("missing-crl-ca");
        let cfg = SslConfig { crl: Some("/nonexistent/crl.pem".into()), ..with_root(SslMode::VerifyFull, &ours) };
        assert!(client_config(&cfg).unwrap_err().to_string().contains("/nonexistent/crl.pem"));
    }
}
