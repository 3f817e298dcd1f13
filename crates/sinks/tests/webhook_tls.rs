//! The webhook sink's TLS options against a real TLS server on 127.0.0.1 (rustls, with
//! certificates made by rcgen for the test): a custom CA, verification on by default,
//! `insecure_skip_verify`, and a client certificate for mutual TLS.

// A panic in a test is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kev_core::Sink;
use kev_core::testkit::sink::sample_events;
use kev_sinks::webhook::{TlsConfig, WebhookSinkConfig};
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by
/// the CA, written as PEM files.
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    ca_der: CertificateDer<'static>,
    server_der: CertificateDer<'static>,
    server_key: Vec<u8>,
}

fn leaf(
    issuer: &Issuer<'static, KeyPair>,
    purpose: ExtendedKeyUsagePurpose,
) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.use_authority_key_identifier_extension = true;
    params.key_usages.push(KeyUsagePurpose::DigitalSignature);
    params.extended_key_usages.push(purpose);
    let key = KeyPair::generate().unwrap();
    (params.signed_by(&key, issuer).unwrap(), key)
}

fn pki() -> Pki {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    params.key_usages.push(KeyUsagePurpose::DigitalSignature);
    let ca_key = KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(params, ca_key);
    let (server, server_key) = leaf(&issuer, ExtendedKeyUsagePurpose::ServerAuth);
    let (client, client_key) = leaf(&issuer, ExtendedKeyUsagePurpose::ClientAuth);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", ca.pem()),
        client_cert: write("client.pem", client.pem()),
        client_key: write("client.key", client_key.serialize_pem()),
        ca_der: ca.der().clone(),
        server_der: server.der().clone(),
        server_key: server_key.serialize_der(),
        _dir: dir,
    }
}

/// An HTTPS server answering 200 to everything; counts the requests it answered.
struct TlsServer {
    url: String,
    answered: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_server(pki: &Pki, require_client_cert: bool) -> TlsServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
    let config = builder
        .with_single_cert(vec![pki.server_der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/hook", listener.local_addr().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let app = {
        let answered = Arc::clone(&answered);
        axum::Router::new().fallback(move || {
            answered.fetch_add(1, Ordering::SeqCst);
            async { "ok" }
        })
    };
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    TlsServer {
        url,
        answered,
        task,
    }
}

fn sink(url: &str, tls: TlsConfig) -> impl Sink {
    WebhookSinkConfig::new(url).tls(tls).build().unwrap()
}

fn with_ca(ca: &Path) -> TlsConfig {
    TlsConfig {
        ca_file: Some(ca.to_owned()),
        ..TlsConfig::default()
    }
}

#[tokio::test]
async fn a_custom_ca_file_makes_the_server_trusted() {
    let pki = pki();
    let server = tls_server(&pki, false).await;
    sink(&server.url, with_ca(&pki.ca))
        .deliver(kev_core::Batch::new(&sample_events(1, 2)))
        .await
        .unwrap();
    assert_eq!(server.answered.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn verification_is_on_by_default_and_failure_is_retryable() {
    let pki = pki();
    let server = tls_server(&pki, false).await;
    let err = sink(&server.url, TlsConfig::default())
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap_err();
    assert!(err.retryable, "{err}");
    assert!(err.message.contains("certificate"), "{err}");
    assert_eq!(server.answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn insecure_skip_verify_accepts_an_unknown_issuer() {
    let pki = pki();
    let server = tls_server(&pki, false).await;
    let tls = TlsConfig {
        insecure_skip_verify: true,
        ..TlsConfig::default()
    };
    sink(&server.url, tls)
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap();
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_client_certificate_is_presented_for_mutual_tls() {
    let pki = pki();
    let server = tls_server(&pki, true).await;
    let err = sink(&server.url, with_ca(&pki.ca))
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap_err();
    assert!(err.retryable, "without a client certificate: {err}");
    let tls = TlsConfig {
        cert_file: Some(pki.client_cert.clone()),
        key_file: Some(pki.client_key.clone()),
        ..with_ca(&pki.ca)
    };
    sink(&server.url, tls)
        .deliver(kev_core::Batch::new(&sample_events(1, 1)))
        .await
        .unwrap();
    assert_eq!(server.answered.load(Ordering::SeqCst), 1);
}
