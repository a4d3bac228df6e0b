//! Solana adapter: native and SPL/Token-2022 transfers, program calls, simulation, signing, decoding.
