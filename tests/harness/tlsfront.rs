//! TLS with a certificate authority the test makes (Debian's `openssl`), for what a province's
//! own CA means: an HTTPS front for a test server (the bytes after the handshake go to and from
//! the plain server), and the certificates a test PostgreSQL serves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub fn openssl(args: &[&str]) {
    let out =
        std::process::Command::new("openssl").args(args).output().expect("openssl (Debian's, with ca-certificates)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA in `dir`: its key and its certificate (PEM).
pub fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (key, crt) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.crt")));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "30",
        "-subj",
        &format!("/CN=Doorstep test {name}"),
        "-keyout",
        &key.to_string_lossy(),
        "-out",
        &crt.to_string_lossy(),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    (key, crt)
}

/// A server certificate signed by the CA `(ca_key, ca)`, naming `san` (`DNS:localhost`,
/// `IP:127.0.0.1`, ...): its key and certificate.
pub fn make_server_cert(dir: &Path, (ca_key, ca): (&Path, &Path), san: &str) -> (PathBuf, PathBuf) {
    let (key, csr, crt, ext) =
        (dir.join("server.key"), dir.join("server.csr"), dir.join("server.crt"), dir.join("server.ext"));
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=doorstep test server",
        "-keyout",
        &key.to_string_lossy(),
        "-out",
        &csr.to_string_lossy(),
    ]);
    std::fs::write(
        &ext,
        format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"),
    )
    .expect("write the extensions");
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr.to_string_lossy(),
        "-CA",
        &ca.to_string_lossy(),
        "-CAkey",
        &ca_key.to_string_lossy(),
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        &crt.to_string_lossy(),
        "-extfile",
        &ext.to_string_lossy(),
    ]);
    (key, crt)
}

/// `https://127.0.0.1:PORT` in front of a plain test server, with a certificate from a CA of the
/// test's own (`ca_pem`), which nothing trusts unless told to.
pub struct TlsFront {
    pub url: String,
    pub ca_pem: String,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    pub async fn start(backend_port: u16) -> TlsFront {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ca_key, ca) = make_ca(dir.path(), "province-ca");
        let (key, crt) = make_server_cert(dir.path(), (&ca_key, &ca), "IP:127.0.0.1,DNS:localhost");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(&crt).expect("cert").collect::<Result<_, _>>().expect("certs");
        let key = PrivateKeyDer::from_pem_file(&key).expect("key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that does not trust the CA ends the handshake: nothing to forward.
                    let Ok(mut tls) = acceptor.accept(stream).await else { return };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(("127.0.0.1", backend_port)).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            url: format!("https://127.0.0.1:{port}"),
            ca_pem: std::fs::read_to_string(&ca).expect("ca"),
            task,
            _dir: dir,
        }
    }
}
