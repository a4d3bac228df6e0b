//! Arbitrary input into the Solana decoder of `POST /v1/transactions/sign`: it must never
//! panic; whatever it accepts must sign for its fee payer and mean the same once signed.
//!
//! Random bytes rarely get past the wire format, so half of the inputs (first byte odd)
//! are used as a recipe instead: a well-formed legacy transaction whose fee payer is a
//! fixed test key, with instructions for the programs the decoder knows (System, SPL
//! Token, Token-2022, ATA, Memo, Compute Budget) or an unknown one, and account indices
//! and data taken from the input (sometimes out of range).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use waiaas_core::chain::rpc::RpcClient;
use waiaas_core::chain::solana::{self, SolanaAdapter};
use waiaas_core::chain::ChainAdapter;
use waiaas_core::keystore::SecretKey;
use waiaas_core::network::{Chain, Network};

struct Fixture {
    adapter: SolanaAdapter,
    key: SecretKey,
    payer: [u8; 32],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Decoding and signing are pure: the RPC client is never used.
        let adapter = SolanaAdapter::new(Network::parse("solana-devnet").expect("network"), RpcClient::new(vec![]));
        let key = SecretKey::from_bytes(Chain::Solana, &[7; 32]).expect("key");
        let payer = key.ed25519().expect("ed25519").verifying_key().to_bytes();
        Fixture { adapter, key, payer }
    })
}

/// Reads bytes off the input; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head.to_vec()
    }
}

/// Compact-u16 length prefix of the wire format.
fn short_vec_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n & 0x7f) as u8;
        n >>= 7;
        if n != 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

/// A legacy transaction built from the recipe in `input`.
fn recipe(input: &mut Input, payer: [u8; 32]) -> Vec<u8> {
    let programs = [
        [0u8; 32], // System
        solana::SPL_TOKEN_PROGRAM_ID.to_bytes(),
        solana::TOKEN_2022_PROGRAM_ID.to_bytes(),
        solana::ATA_PROGRAM_ID.to_bytes(),
        solana::MEMO_PROGRAM_ID.to_bytes(),
        solana::COMPUTE_BUDGET_PROGRAM_ID.to_bytes(),
        [0xAB; 32], // unknown program
    ];
    let mut keys = vec![payer];
    for _ in 0..input.byte() % 6 {
        let mut k = [1u8; 32];
        for (dst, src) in k.iter_mut().zip(input.bytes(4)) {
            *dst = src;
        }
        keys.push(k);
    }
    keys.extend(programs);
    let mut tx = vec![1];
    tx.extend_from_slice(&[0; 64]);
    tx.extend_from_slice(&[1, 0, input.byte() % 8]); // header: the payer signs
    short_vec_len(&mut tx, keys.len());
    keys.iter().for_each(|k| tx.extend_from_slice(k));
    tx.extend_from_slice(&[3; 32]); // blockhash
    let n_ix = 1 + usize::from(input.byte() % 4);
    short_vec_len(&mut tx, n_ix);
    for _ in 0..n_ix {
        let program = keys.len() - programs.len() + usize::from(input.byte()) % programs.len();
        tx.push(program as u8);
        let n_acc = usize::from(input.byte() % 7);
        short_vec_len(&mut tx, n_acc);
        for _ in 0..n_acc {
            tx.push(input.byte() % (keys.len() as u8 + 1));
        }
        let len = usize::from(input.byte() % 24);
        let data = input.bytes(len);
        short_vec_len(&mut tx, data.len());
        tx.extend_from_slice(&data);
    }
    tx
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut input = Input(data);
    let structured = input.byte() & 1 == 1;
    let raw = if structured { recipe(&mut input, f.payer) } else { data.to_vec() };
    let Ok(decoded) = f.adapter.decode_external(&raw) else { return };
    match f.adapter.sign_external(&raw, &f.key) {
        Ok(signed) => {
            assert!(!signed.hash.is_empty(), "the fee payer signed: the id is known");
            assert_eq!(f.adapter.decode_external(&signed.raw).expect("signed bytes decode"), decoded);
        }
        Err(e) => assert!(!structured, "a decodable recipe must sign for its fee payer: {e}"),
    }
});
