//! `waiaas-testnodes anvil [chain-id]` / `solana` / `postgres`: start a node (or a database), print one
//! JSON line `{"rpc": "...", ...}` on stdout, and keep it running until stdin closes or
//! SIGTERM. Used by the Python and Node test suites. `waiaas-testnodes install-anvil`
//! installs anvil into the cache (what scripts/install-test-tools.sh runs before the tests).

use std::io::Read;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("anvil") => {
            let chain_id = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(11155111);
            let node = waiaas_testnodes::anvil::Anvil::start(chain_id);
            println!("{}", serde_json::json!({"rpc": node.url, "chainId": chain_id}));
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            drop(node);
        }
        Some("install-anvil") => {
            println!("{}", waiaas_testnodes::anvil::binary().display());
        }
        Some("postgres") => {
            let pg = waiaas_testnodes::postgres::Postgres::start();
            println!("{}", serde_json::json!({"url": pg.url, "port": pg.port}));
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            drop(pg);
        }
        Some("solana") => {
            let node = waiaas_testnodes::solana::Validator::start();
            println!("{}", serde_json::json!({"rpc": node.url}));
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            drop(node);
        }
        _ => {
            eprintln!("usage: waiaas-testnodes anvil [chain-id] | solana | postgres | install-anvil");
            std::process::exit(2);
        }
    }
}
