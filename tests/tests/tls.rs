//! Outbound TLS (issue 13, item 1): the daemon reaches an https RPC endpoint whose certificate
//! comes from an internal CA trusted through `SSL_CERT_FILE`, and refuses the same endpoint,
//! naming its host, when the CA is not trusted. The endpoint is a real TLS terminator
//! (tokio-rustls) in front of a real anvil; the CA and the server certificate are made for this
//! test with the `openssl` command line tool. The CLI's remote client reaches a daemon behind
//! the same kind of terminator.

use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;
use waiaas_e2e::evm::Node;
use waiaas_e2e::*;

/// A throwaway CA and a certificate for `localhost` / 127.0.0.1 signed by it, in `dir`:
/// `ca.pem`, `server.pem`, `server.key`.
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command line tool is needed");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=WAIaaS test CA"]);
    run(&["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    run(&["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"]);
}

/// A TLS terminator on 127.0.0.1 forwarding every connection to `backend` (host:port).
/// Returns its port; it runs until the test's runtime ends.
async fn terminator(dir: &Path, backend: String) -> u16 {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                // A client that does not trust the CA aborts the handshake: nothing to forward.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_rpc_behind_an_internal_ca_is_reached_when_trusted_and_refused_by_name_when_not() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let node = Node::start(11155111);
    let anvil_hostport = node.url().trim_start_matches("http://").trim_end_matches('/').to_string();
    let port = terminator(certs.path(), anvil_hostport).await;
    // anvil answers on "/" only; the untrusted case below carries a provider-style key in the path.
    let https_rpc = format!("https://localhost:{port}");
    let ca = certs.path().join("ca.pem");

    // Trusted through SSL_CERT_FILE: balance and a transfer that confirms, all over TLS.
    let d = Daemon::start(
        Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &https_rpc).env("SSL_CERT_FILE", ca.to_str().unwrap()).env("WAIAAS_PRICES_ETH", "2000"),
    );
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "tls", "chain": "ethereum"}))).await;
    assert_eq!(w.status, 201, "{:?}", w.body);
    let address = w.body["publicKey"].as_str().unwrap().to_string();
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    node.fund(&address, 10u128.pow(18));
    let b = api.call("GET", "/v1/wallet/balance", &agent, None).await;
    assert_eq!((b.status, b.body["balance"].as_str()), (200, Some("1000000000000000000")), "{:?}", b.body);
    let to = waiaas_testnodes::anvil::DEV_ACCOUNTS[3];
    let before = node.balance(to);
    let s = api.call("POST", "/v1/transactions/send", &agent, Some(json!({"type": "TRANSFER", "to": to, "amount": "1000"}))).await;
    assert_eq!(s.status, 201, "{:?}", s.body);
    let tx = api.wait_tx(&agent, s.body["id"].as_str().unwrap(), IN_FLIGHT, Duration::from_secs(60)).await;
    assert_eq!(tx["status"], "CONFIRMED", "{tx}");
    assert_eq!(node.balance(to) - before, 1000);

    // The CLI's remote client reaches the daemon behind a TLS terminator too.
    let front = terminator(certs.path(), format!("127.0.0.1:{}", d.port)).await;
    let front_url = format!("https://localhost:{front}");
    let env = [("WAIAAS_MASTER_PASSWORD".to_string(), PASSWORD.to_string()), ("SSL_CERT_FILE".to_string(), ca.to_str().unwrap().to_string())];
    let out = tokio::task::block_in_place(|| run_cli(&["--base-url", &front_url, "--json", "wallet", "list"], &env));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&address), "{}", String::from_utf8_lossy(&out.stdout));
    // Without the CA the CLI refuses the certificate.
    let out = tokio::task::block_in_place(|| run_cli(&["--base-url", &front_url, "--json", "wallet", "list"], &env[..1]));
    assert!(!out.status.success());
    d.stop();

    // Not trusted (the system store does not know this CA): refused, the error names the
    // host (not the key in the URL) and says why.
    let d = Daemon::start(Options::default().env("WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA", &format!("{https_rpc}/v2/SECRET-KEY")));
    let api = Api::new(&d.base);
    let w = api.call("POST", "/v1/wallets", &Api::master(), Some(json!({"name": "untrusted", "chain": "ethereum"}))).await;
    let agent = Auth::Session(w.body["session"]["token"].as_str().unwrap().into());
    let b = api.call("GET", "/v1/wallet/balance", &agent, None).await;
    assert_eq!((b.status, b.code()), (502, "CHAIN_ERROR"), "{:?}", b.body);
    let message = b.body["message"].as_str().unwrap();
    assert!(message.contains(&format!("https://localhost:{port}")), "names the host: {message}");
    assert!(message.to_lowercase().contains("certificate"), "says it is the certificate: {message}");
    assert!(!message.contains("SECRET-KEY"), "{message}");
}
