//! EVM adapter (alloy): EIP-1559 transactions, ERC-20, simulation, signing, decoding.
