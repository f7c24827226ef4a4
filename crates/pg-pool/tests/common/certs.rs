//! A small PKI made with rcgen at run time: two CAs, server certificates, a
//! revoked one with its CRL, and a client certificate.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};

/// The role that logs in with its client certificate (`cert` auth: CN = user).
pub const CLIENT_USER: &str = "lightrag_cert";
/// The serial number of the revoked server certificate.
pub const REVOKED_SERIAL: u64 = 0x5EED;

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct CertAndKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything the TLS tests need.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA that signed the server and client certificates.
    pub ca_pem: String,
    /// A CA that signed nothing the server uses.
    pub other_ca_pem: String,
    /// The server certificate; its only name is the DNS name `localhost`.
    pub server: CertAndKey,
    /// A server certificate for `localhost` and `127.0.0.1`, revoked by `crl_pem`.
    pub revoked_server: CertAndKey,
    /// The CA's CRL, listing [`REVOKED_SERIAL`].
    pub crl_pem: String,
    /// A client certificate with CN = [`CLIENT_USER`].
    pub client: CertAndKey,
}

fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert.pem(), Issuer::new(params, key))
}

fn issue(
    issuer: &Issuer<'_, KeyPair>,
    cn: &str,
    names: &[&str],
    serial: u64,
    usage: ExtendedKeyUsagePurpose,
) -> CertAndKey {
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).expect("leaf params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.serial_number = Some(SerialNumber::from(serial));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    CertAndKey { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
}

impl Pki {
    /// Makes a fresh PKI.
    pub fn generate() -> Pki {
        let (ca_pem, ca) = new_ca("lightrag-pg test CA");
        let (other_ca_pem, _other) = new_ca("lightrag-pg unrelated CA");
        let server = issue(&ca, "localhost", &["localhost"], 0x1001, ExtendedKeyUsagePurpose::ServerAuth);
        let revoked_server =
            issue(&ca, "localhost", &["localhost", "127.0.0.1"], REVOKED_SERIAL, ExtendedKeyUsagePurpose::ServerAuth);
        let client = issue(&ca, CLIENT_USER, &[CLIENT_USER], 0x2001, ExtendedKeyUsagePurpose::ClientAuth);
        let crl = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(REVOKED_SERIAL),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&ca)
        .expect("CRL");
        Pki { ca_pem, other_ca_pem, server, revoked_server, crl_pem: crl.pem().expect("CRL PEM"), client }
    }
}
