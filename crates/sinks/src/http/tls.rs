//! [`TlsConfig`]: the `tls:` block of an HTTP sink, turned into one rustls client
//! config (ring, as the rest of kev) that both reqwest versions take.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kev_core::config::ConfigError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;

/// TLS settings. Certificates are verified against the built-in web PKI roots (and
/// `ca_file`) unless `insecure_skip_verify` says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with CA certificates to trust in addition to the built-in roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS; needs `key_file`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate. Only for tests against self-signed endpoints:
    /// anyone on the path can read and change the traffic. Logged as a warning.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

impl TlsConfig {
    /// Checks the settings without reading the files; errors name the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err(ConfigError::new("key_file", "cert_file needs key_file")),
            (None, Some(_)) => Err(ConfigError::new("cert_file", "key_file needs cert_file")),
            _ => Ok(()),
        }
    }

    /// Reads the certificates and builds the client config.
    pub fn rustls_config(&self) -> Result<rustls::ClientConfig, ConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = self.roots()?;
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::new("", format!("TLS setup failed: {e}")))?;
        let builder = if self.insecure_skip_verify {
            tracing::warn!(
                "HTTP sink: tls.insecure_skip_verify is set: server certificates are NOT verified"
            );
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        } else {
            builder.with_root_certificates(roots)
        };
        let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) else {
            return Ok(builder.with_no_client_auth());
        };
        let bad_pair = |e: String| {
            ConfigError::new(
                "cert_file",
                format!("{} with {}: {e}", cert.display(), key.display()),
            )
        };
        let chain = certificates(&read(cert, "cert_file")?).map_err(bad_pair)?;
        let private = PrivateKeyDer::from_pem_slice(&read(key, "key_file")?)
            .map_err(|e| bad_pair(e.to_string()))?;
        builder
            .with_client_auth_cert(chain, private)
            .map_err(|e| bad_pair(e.to_string()))
    }

    /// The web PKI roots, plus `ca_file`.
    fn roots(&self) -> Result<rustls::RootCertStore, ConfigError> {
        let mut roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let Some(path) = &self.ca_file else {
            return Ok(roots);
        };
        let bad = |e: String| ConfigError::new("ca_file", format!("{}: {e}", path.display()));
        for cert in certificates(&read(path, "ca_file")?).map_err(bad)? {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        Ok(roots)
    }
}

/// Every certificate of a PEM bundle; none is an error.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    Ok(certs)
}

fn read(path: &Path, field: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path)
        .map_err(|e| ConfigError::new(field, format!("cannot read {}: {e}", path.display())))
}

/// `insecure_skip_verify`: any certificate is accepted, though the handshake's
/// signatures are still checked (the server must hold the key of what it presents).
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
