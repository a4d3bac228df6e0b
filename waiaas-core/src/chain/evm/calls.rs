//! What an EVM call does to the wallet's tokens: the one classifier of calldata, used for
//! `CONTRACT_CALL` sends and for sign-only transactions alike.
//!
//! | call (selector) | token meaning |
//! |---|---|
//! | `transfer(address,uint256)` | `TOKEN_TRANSFER` of the called token to `to` |
//! | `transferFrom(address,address,uint256)` (ERC-20, ERC-721) | `TOKEN_TRANSFER` of the called token to `to` |
//! | `approve(address,uint256)` (ERC-20, ERC-721) | `APPROVE` `spender` for `amount` |
//! | `increaseAllowance(address,uint256)` | `APPROVE` `spender`, unlimited: the resulting allowance is unknown offline |
//! | `setApprovalForAll(address,bool)` (ERC-721, ERC-1155) | `APPROVE` `operator`, unlimited when `true` (0 when `false`) |
//! | EIP-2612 `permit(owner,spender,value,deadline,v,r,s)` | `APPROVE` `spender` for `value` |
//! | DAI `permit(holder,spender,nonce,expiry,allowed,v,r,s)` | `APPROVE` `spender`, unlimited when `allowed` |
//! | ERC-721 `safeTransferFrom(from,to,id[,data])` | `TOKEN_TRANSFER` of 1 (the collection is the token) |
//! | ERC-1155 `safeTransferFrom(from,to,id,amount,data)` | `TOKEN_TRANSFER` of `amount` |
//! | ERC-1155 `safeBatchTransferFrom(from,to,ids,amounts,data)` | `TOKEN_TRANSFER`, unlimited amount |
//!
//! Arguments are read the way the EVM reads calldata (`CALLDATALOAD`): 32-byte words after
//! the selector, missing bytes read as zeros, an address is the low 20 bytes of its word, a
//! bool is any non-zero word. Bytes after the arguments are ignored, as the token contract
//! ignores them; `uint256` amounts above `u128::MAX` saturate later (unlimited).
//!
//! **Exact calls** — `transfer` or `approve` with exactly their two canonical arguments
//! (4 + 64 bytes, a clean address word) and no value — are byte for byte what a
//! `TOKEN_TRANSFER` / `APPROVE` send builds, and are described as that one operation.
//! **Every other call with a token meaning** is described as two operations: the
//! `CONTRACT_CALL` itself (contract, selector and value, still subject to CONTRACT_WHITELIST
//! and METHOD_WHITELIST) followed by its token operation (subject to ALLOWED_TOKENS,
//! APPROVED_SPENDERS, APPROVE_AMOUNT_LIMIT and the value limits on the token amount). So
//! whitelisting a token contract never authorizes moving or approving its tokens.
//! A call without data but with value is a `TRANSFER`; any other call is a `CONTRACT_CALL`.

use crate::chain::Operation;
use alloy_primitives::{keccak256, Address, U256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Transfer,
    TransferFrom,
    Approve,
    IncreaseAllowance,
    SetApprovalForAll,
    Permit,
    DaiPermit,
    Erc721SafeTransfer,
    Erc1155SafeTransfer,
    Erc1155SafeBatchTransfer,
}

/// Signatures whose selectors carry a token meaning.
const METHODS: [(&str, Method); 11] = [
    ("transfer(address,uint256)", Method::Transfer),
    ("transferFrom(address,address,uint256)", Method::TransferFrom),
    ("approve(address,uint256)", Method::Approve),
    ("increaseAllowance(address,uint256)", Method::IncreaseAllowance),
    ("setApprovalForAll(address,bool)", Method::SetApprovalForAll),
    ("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", Method::Permit),
    ("permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", Method::DaiPermit),
    ("safeTransferFrom(address,address,uint256)", Method::Erc721SafeTransfer),
    ("safeTransferFrom(address,address,uint256,bytes)", Method::Erc721SafeTransfer),
    ("safeTransferFrom(address,address,uint256,uint256,bytes)", Method::Erc1155SafeTransfer),
    ("safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)", Method::Erc1155SafeBatchTransfer),
];

fn method(selector: &[u8]) -> Option<Method> {
    METHODS.iter().find(|(sig, _)| keccak256(sig.as_bytes())[..4] == *selector).map(|(_, m)| *m)
}

/// ABI arguments as the EVM reads them: word `i` is zero-padded when the data is short.
struct Args<'a>(&'a [u8]);

impl Args<'_> {
    fn word(&self, i: usize) -> [u8; 32] {
        let mut w = [0u8; 32];
        if let Some(rest) = self.0.get(i * 32..) {
            let n = rest.len().min(32);
            w[..n].copy_from_slice(&rest[..n]);
        }
        w
    }
    fn address(&self, i: usize) -> Address {
        Address::from_slice(&self.word(i)[12..])
    }
    fn uint(&self, i: usize) -> U256 {
        U256::from_be_bytes(self.word(i))
    }
    fn flag(&self, i: usize) -> bool {
        self.word(i) != [0u8; 32]
    }
}

/// The operations of a call of `to` with `value` wei and calldata `input` (see the module docs).
pub(crate) fn call_operations(to: Address, value: U256, input: &[u8]) -> Vec<Operation> {
    let amount = (!value.is_zero()).then(|| value.to_string());
    if input.is_empty() && !value.is_zero() {
        return vec![Operation { op_type: "TRANSFER".into(), to: Some(to.to_checksum(None)), amount, ..Default::default() }];
    }
    let call = Operation {
        op_type: "CONTRACT_CALL".into(),
        to: Some(to.to_checksum(None)),
        amount,
        method: input.get(..4).map(|s| format!("0x{}", hex::encode(s))),
        ..Default::default()
    };
    let Some(m) = input.get(..4).and_then(method) else { return vec![call] };
    let args = Args(&input[4..]);
    let token_op = |op_type: &str, who: Address, amount: U256| Operation {
        op_type: op_type.into(),
        to: Some(who.to_checksum(None)),
        amount: Some(amount.to_string()),
        token: Some(to.to_checksum(None)),
        ..Default::default()
    };
    let all_or_nothing = |flag: bool| if flag { U256::MAX } else { U256::ZERO };
    let meaning = match m {
        Method::Transfer => token_op("TOKEN_TRANSFER", args.address(0), args.uint(1)),
        Method::TransferFrom => token_op("TOKEN_TRANSFER", args.address(1), args.uint(2)),
        Method::Approve => token_op("APPROVE", args.address(0), args.uint(1)),
        Method::IncreaseAllowance => token_op("APPROVE", args.address(0), U256::MAX),
        Method::SetApprovalForAll => token_op("APPROVE", args.address(0), all_or_nothing(args.flag(1))),
        Method::Permit => token_op("APPROVE", args.address(1), args.uint(2)),
        Method::DaiPermit => token_op("APPROVE", args.address(1), all_or_nothing(args.flag(4))),
        Method::Erc721SafeTransfer => token_op("TOKEN_TRANSFER", args.address(1), U256::from(1)),
        Method::Erc1155SafeTransfer => token_op("TOKEN_TRANSFER", args.address(1), args.uint(3)),
        Method::Erc1155SafeBatchTransfer => token_op("TOKEN_TRANSFER", args.address(1), U256::MAX),
    };
    let exact = value.is_zero() && input.len() == 4 + 64 && matches!(m, Method::Transfer | Method::Approve) && args.word(0)[..12] == [0u8; 12];
    if exact {
        vec![meaning]
    } else {
        vec![call, meaning]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    const TOKEN: Address = address!("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    const BOB: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    fn calldata(sig: &str, words: &[[u8; 32]]) -> Vec<u8> {
        let mut out = keccak256(sig.as_bytes())[..4].to_vec();
        words.iter().for_each(|w| out.extend_from_slice(w));
        out
    }
    fn addr(a: Address) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(a.as_slice());
        w
    }
    fn uint(v: u64) -> [u8; 32] {
        U256::from(v).to_be_bytes()
    }
    fn kinds(ops: &[Operation]) -> Vec<&str> {
        ops.iter().map(|o| o.op_type.as_str()).collect()
    }

    #[test]
    fn well_known_selectors() {
        let hex = |sig: &str| hex::encode(&keccak256(sig.as_bytes())[..4]);
        assert_eq!(hex(METHODS[0].0), "a9059cbb");
        assert_eq!(hex(METHODS[1].0), "23b872dd");
        assert_eq!(hex(METHODS[2].0), "095ea7b3");
        assert_eq!(hex(METHODS[4].0), "a22cb465");
        assert_eq!(hex(METHODS[5].0), "d505accf");
        assert_eq!(hex(METHODS[7].0), "42842e0e");
        assert_eq!(hex(METHODS[9].0), "f242432a");
    }

    #[test]
    fn exact_erc20_calls_are_the_token_operation_alone() {
        let ops = call_operations(TOKEN, U256::ZERO, &calldata(METHODS[0].0, &[addr(BOB), uint(42)]));
        assert_eq!(kinds(&ops), ["TOKEN_TRANSFER"]);
        assert_eq!(ops[0].token, Some(TOKEN.to_checksum(None)));
        assert_eq!(ops[0].to, Some(BOB.to_checksum(None)));
        assert_eq!(ops[0].amount.as_deref(), Some("42"));
        let ops = call_operations(TOKEN, U256::ZERO, &calldata(METHODS[2].0, &[addr(BOB), U256::MAX.to_be_bytes()]));
        assert_eq!(kinds(&ops), ["APPROVE"]);
        assert_eq!(ops[0].amount, Some(U256::MAX.to_string()));
    }

    #[test]
    fn other_token_calls_keep_the_call_and_add_its_meaning() {
        // Trailing bytes, value, a dirty address word: the call and its token meaning.
        let mut trailing = calldata(METHODS[0].0, &[addr(BOB), uint(42)]);
        trailing.extend_from_slice(b"hidden");
        let ops = call_operations(TOKEN, U256::ZERO, &trailing);
        assert_eq!(kinds(&ops), ["CONTRACT_CALL", "TOKEN_TRANSFER"]);
        assert_eq!((ops[0].method.as_deref(), ops[1].amount.as_deref()), (Some("0xa9059cbb"), Some("42")));
        let ops = call_operations(TOKEN, U256::from(7), &calldata(METHODS[0].0, &[addr(BOB), uint(42)]));
        assert_eq!(kinds(&ops), ["CONTRACT_CALL", "TOKEN_TRANSFER"]);
        assert_eq!(ops[0].amount.as_deref(), Some("7"));
        let mut dirty = addr(BOB);
        dirty[0] = 1;
        let ops = call_operations(TOKEN, U256::ZERO, &calldata(METHODS[0].0, &[dirty, uint(42)]));
        assert_eq!((kinds(&ops)[1], ops[1].to.clone()), ("TOKEN_TRANSFER", Some(BOB.to_checksum(None))));
        // Short data reads as zero-padded words, like CALLDATALOAD.
        let mut short = calldata(METHODS[0].0, &[addr(BOB)]);
        short.push(0x01);
        let ops = call_operations(TOKEN, U256::ZERO, &short);
        assert_eq!(ops[1].amount, Some((U256::from(1u8) << 248usize).to_string()));

        // (signature, argument words, expected type, recipient / spender, amount)
        type Case<'a> = (&'a str, Vec<[u8; 32]>, &'a str, Address, U256);
        let cases: [Case; 7] = [
            (METHODS[1].0, vec![addr(TOKEN), addr(BOB), uint(5)], "TOKEN_TRANSFER", BOB, U256::from(5)),
            (METHODS[3].0, vec![addr(BOB), uint(5)], "APPROVE", BOB, U256::MAX),
            (METHODS[4].0, vec![addr(BOB), uint(1)], "APPROVE", BOB, U256::MAX),
            (METHODS[4].0, vec![addr(BOB), uint(0)], "APPROVE", BOB, U256::ZERO),
            (METHODS[5].0, vec![addr(TOKEN), addr(BOB), uint(9), uint(0), uint(27), uint(1), uint(2)], "APPROVE", BOB, U256::from(9)),
            (METHODS[8].0, vec![addr(TOKEN), addr(BOB), uint(77), uint(128), uint(0)], "TOKEN_TRANSFER", BOB, U256::from(1)),
            (METHODS[9].0, vec![addr(TOKEN), addr(BOB), uint(3), uint(12), uint(160)], "TOKEN_TRANSFER", BOB, U256::from(12)),
        ];
        for (sig, words, ty, who, amount) in cases {
            let ops = call_operations(TOKEN, U256::ZERO, &calldata(sig, &words));
            assert_eq!(kinds(&ops), ["CONTRACT_CALL", ty], "{sig}");
            assert_eq!(ops[1].to, Some(who.to_checksum(None)), "{sig}");
            assert_eq!(ops[1].amount, Some(amount.to_string()), "{sig}");
            assert_eq!(ops[1].token, Some(TOKEN.to_checksum(None)), "{sig}");
        }
    }

    #[test]
    fn plain_calls_and_transfers() {
        let ops = call_operations(TOKEN, U256::ZERO, &[0xde, 0xad, 0xbe, 0xef, 1]);
        assert_eq!((kinds(&ops), ops[0].method.as_deref()), (vec!["CONTRACT_CALL"], Some("0xdeadbeef")));
        assert_eq!(kinds(&call_operations(BOB, U256::from(1), &[])), ["TRANSFER"]);
        let ops = call_operations(BOB, U256::ZERO, &[]);
        assert_eq!((kinds(&ops), ops[0].method.as_deref()), (vec!["CONTRACT_CALL"], None));
        assert_eq!(kinds(&call_operations(BOB, U256::ZERO, &[0xa9, 0x05])), ["CONTRACT_CALL"]);
    }
}
