//! TLS to PostgreSQL (rustls), as libpq's URL parameters ask: `sslmode` = `disable`, `prefer`
//! (the default), `require`, `verify-ca` or `verify-full`, and `sslrootcert` = a CA file (PEM)
//! trusted besides the system's certificate store. tokio-postgres knows only the first three
//! modes and no root certificate, so both are read here and taken out of the URL it parses.
//!
//! As libpq: `prefer` and `require` encrypt without checking the certificate (unless a root
//! certificate is given: then `require` checks it as `verify-ca` does); `verify-ca` checks the
//! chain; `verify-full` checks the chain and that the certificate names the host.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// What a URL asks of TLS, and the URL without the parameters only this module reads.
#[derive(Debug)]
pub struct Tls {
    pub mode: Mode,
    pub root_cert: Option<PathBuf>,
}

/// Splits `url` into what tokio-postgres reads and what TLS needs.
pub fn split(url: &str) -> Result<(tokio_postgres::Config, Tls), StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    let mut kept = Vec::new();
    let mut tls = Tls { mode: Mode::Prefer, root_cert: None };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "sslmode" => {
                tls.mode = match &*value {
                    "disable" => Mode::Disable,
                    "prefer" | "allow" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(StoreError::Config(format!(
                            "sslmode={other} in the PostgreSQL URL: use disable, prefer, require, verify-ca or verify-full"
                        )));
                    }
                }
            }
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(&*value)),
            _ => kept.push((key.into_owned(), value.into_owned())),
        }
    }
    let rest = form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish();
    let plain = if rest.is_empty() { base.to_string() } else { format!("{base}?{rest}") };
    let mut config: tokio_postgres::Config =
        plain.parse().map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
    config.ssl_mode(match tls.mode {
        Mode::Disable => SslMode::Disable,
        Mode::Prefer => SslMode::Prefer,
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    Ok((config, tls))
}

/// The connector for `tls`.
pub fn connector(tls: &Tls) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Config(format!("TLS: {e}")))?;
    let check_chain = matches!(tls.mode, Mode::VerifyCa | Mode::VerifyFull) || tls.root_cert.is_some();
    if tls.mode == Mode::Disable || !check_chain {
        let config =
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Unchecked(provider))).with_no_client_auth();
        return Ok(MakeRustlsConnect::new(config));
    }
    let roots = Arc::new(roots(tls)?);
    let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|e| StoreError::Config(format!("TLS: {e}")))?;
    let config = if tls.mode == Mode::VerifyFull {
        builder.with_webpki_verifier(webpki).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly(webpki))).with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The system's trusted certificates (Debian's ca-certificates), and the URL's root certificate.
fn roots(tls: &Tls) -> Result<RootCertStore, StoreError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &tls.root_cert {
        let pem = std::fs::read(path)
            .map_err(|e| StoreError::Config(format!("sslrootcert {}: cannot read it: {e}", path.display())))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| StoreError::Config(format!("sslrootcert {}: {e}", path.display())))?;
            roots.add(cert).map_err(|e| StoreError::Config(format!("sslrootcert {}: {e}", path.display())))?;
            added += 1;
        }
        if added == 0 {
            return Err(StoreError::Config(format!("sslrootcert {}: no PEM certificate in it", path.display())));
        }
    }
    if roots.is_empty() {
        return Err(StoreError::Config(
            "TLS: no trusted certificate: install ca-certificates, or give the CA with sslrootcert=FILE".into(),
        ));
    }
    Ok(roots)
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], server_name: &ServerName<'_>,
        ocsp: &[u8], now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(Error::InvalidCertificate(CertificateError::NotValidForName))
            | Err(Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a root certificate: encrypted, the certificate not checked (as
/// libpq does); the handshake's signatures still are.
#[derive(Debug)]
struct Unchecked(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_are_read_and_the_rest_passed_on() {
        let (config, tls) =
            split("postgres://doorstep@db.internal:5433/doorstep?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x")
                .unwrap();
        assert_eq!((tls.mode, tls.root_cert.as_deref()), (Mode::VerifyFull, Some(std::path::Path::new("/etc/ca.pem"))));
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
        assert_eq!(config.get_application_name(), Some("x"));
        assert_eq!(config.get_dbname(), Some("doorstep"));
        let (config, tls) = split("postgres://u@h/d").unwrap();
        assert_eq!((tls.mode, config.get_ssl_mode()), (Mode::Prefer, SslMode::Prefer));
        let (config, _) = split("postgres://u@h/d?sslmode=disable").unwrap();
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        let e = split("postgres://u@h/d?sslmode=always").unwrap_err().to_string();
        assert!(e.contains("sslmode=always") && e.contains("verify-full"), "{e}");
        let e = connector(&Tls { mode: Mode::VerifyCa, root_cert: Some("/no/such/ca.pem".into()) })
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
    }
}
