//! Aave v3 deployed on anvil from its published npm artifacts (`@aave/core-v3` 1.19.3, its
//! hardhat `artifacts/contracts/**/<Name>.sol/<Name>.json`; installed by `tests/defi/install.sh`):
//! the bytecode as published, not recompiled, with the logic libraries' placeholders linked at
//! the artifacts' `linkReferences` offsets. A minimal but real lending market: the addresses
//! provider, ACL manager, `Pool` and `PoolConfigurator` behind the provider's proxies, an
//! `AaveOracle` on `MockAggregator` prices (8-decimal USD), the protocol data provider, and
//! one reserve per asset (LTV 80 %, liquidation threshold 85 %, bonus 5 %, variable borrowing
//! on, reserve factor 0, no caps).
//!
//! Every selector this module encodes is in [`SELECTORS`]; [`AaveV3::deploy`] checks each
//! against the artifacts' ABI (the canonical signature) and the node's keccak (`web3_sha3`).

use crate::evm::{word_addr, word_u128, Node};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use waiaas_testnodes::anvil::DEV_ACCOUNTS;

/// The npm package the contracts come from (exact version in `tests/defi/package.json`).
pub const PACKAGE: &str = "@aave/core-v3";

/// 1.0 in Aave's 27-decimal fixed point.
pub const RAY: u128 = 10u128.pow(27);

/// The reserve parameters [`AaveV3::deploy`] sets on every asset (basis points).
pub const LTV: u128 = 8000;
pub const LIQUIDATION_THRESHOLD: u128 = 8500;
pub const LIQUIDATION_BONUS: u128 = 10500;

/// The interest rate strategy every reserve shares (rays): optimal usage 80 %, variable
/// rate 0 % + 4 % up to the optimum (+ 75 % beyond); stable borrowing stays disabled.
pub const OPTIMAL_USAGE_RATIO: u128 = 8 * RAY / 10;
pub const VARIABLE_RATE_SLOPE1: u128 = 4 * RAY / 100;
pub const VARIABLE_RATE_SLOPE2: u128 = 75 * RAY / 100;

/// (contract, canonical signature, selector) of every function encoded by hand here.
pub const SELECTORS: &[(&str, &str, &str)] = &[
    ("PoolAddressesProvider", "setACLAdmin(address)", "0x76d84ffc"),
    ("PoolAddressesProvider", "setACLManager(address)", "0xed301ca9"),
    ("PoolAddressesProvider", "setPoolImpl(address)", "0xa1564406"),
    ("PoolAddressesProvider", "setPoolConfiguratorImpl(address)", "0xe4ca28b7"),
    ("PoolAddressesProvider", "getPool()", "0x026b1d5f"),
    ("PoolAddressesProvider", "getPoolConfigurator()", "0x631adfca"),
    ("PoolAddressesProvider", "setPriceOracle(address)", "0x530e784f"),
    ("PoolAddressesProvider", "setPoolDataProvider(address)", "0xe44e9ed1"),
    ("ACLManager", "addPoolAdmin(address)", "0x22650caf"),
    ("ACLManager", "addRiskAdmin(address)", "0x5b9a94e4"),
    (
        "PoolConfigurator",
        "initReserves((address,address,address,uint8,address,address,address,address,string,string,string,string,string,string,bytes)[])",
        "0x02fb45e6",
    ),
    ("PoolConfigurator", "configureReserveAsCollateral(address,uint256,uint256,uint256)", "0x7c4e560b"),
    ("PoolConfigurator", "setReserveBorrowing(address,bool)", "0x682cf264"),
    ("Pool", "supply(address,uint256,address,uint16)", "0x617ba037"),
    ("Pool", "borrow(address,uint256,uint256,uint16,address)", "0xa415bcad"),
    ("Pool", "repay(address,uint256,uint256,address)", "0x573ade81"),
    ("Pool", "withdraw(address,uint256,address)", "0x69328dec"),
    ("Pool", "getUserAccountData(address)", "0xbf92857c"),
    ("Pool", "getReserveData(address)", "0x35ea6a75"),
    ("AaveProtocolDataProvider", "getReserveTokensAddresses(address)", "0xd2493b6c"),
    ("AaveOracle", "getAssetPrice(address)", "0xb3596f07"),
    ("AToken", "decimals()", "0x313ce567"),
    ("AToken", "symbol()", "0x95d89b41"),
];

/// The selector of `signature` from [`SELECTORS`] (0x hex).
pub fn selector(signature: &str) -> &'static str {
    SELECTORS.iter().find(|(_, s, _)| *s == signature).unwrap_or_else(|| panic!("{signature} is not in SELECTORS")).2
}

/// `@aave/core-v3/artifacts` of the harness's install (`tests/defi/install.sh`, run once).
fn artifacts_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| crate::npm_harness("defi").join("node_modules").join(PACKAGE).join("artifacts"))
}

/// The hardhat artifact `artifacts/contracts/**/<name>.sol/<name>.json` (there must be one).
pub fn artifact(name: &str) -> Value {
    fn walk(dir: &Path, name: &str, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, name, found);
            } else if path.ends_with(format!("{name}.sol/{name}.json")) {
                found.push(path);
            }
        }
    }
    let mut found = vec![];
    walk(&artifacts_dir().join("contracts"), name, &mut found);
    assert_eq!(found.len(), 1, "artifacts of {name}: {found:?}");
    let text = std::fs::read_to_string(&found[0]).unwrap_or_else(|e| panic!("{}: {e}", found[0].display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", found[0].display()))
}

/// The canonical signatures (`name(type,...)`, tuples spelled out) of `name` in an artifact's ABI.
fn abi_signatures(artifact: &Value, name: &str) -> Vec<String> {
    fn canonical(param: &Value) -> String {
        let ty = param["type"].as_str().expect("ABI type");
        match ty.strip_prefix("tuple") {
            Some(suffix) => {
                let parts: Vec<String> = param["components"].as_array().expect("tuple components").iter().map(canonical).collect();
                format!("({}){suffix}", parts.join(","))
            }
            None => ty.to_string(),
        }
    }
    let abi = artifact["abi"].as_array().expect("ABI");
    abi.iter()
        .filter(|f| f["type"] == "function" && f["name"] == name)
        .map(|f| {
            let inputs: Vec<String> = f["inputs"].as_array().expect("inputs").iter().map(canonical).collect();
            format!("{name}({})", inputs.join(","))
        })
        .collect()
}

/// Check every [`SELECTORS`] entry: the contract's published ABI has that exact signature,
/// and the node's keccak of it starts with the selector.
pub fn verify_selectors(node: &Node) {
    let mut abis: HashMap<&str, Value> = HashMap::new();
    for (contract, signature, sel) in SELECTORS {
        let abi = abis.entry(contract).or_insert_with(|| artifact(contract));
        let name = &signature[..signature.find('(').expect("signature")];
        let published = abi_signatures(abi, name);
        assert!(published.iter().any(|s| s == signature), "{contract}'s ABI has {published:?}, not {signature}");
        let hash = node.rpc("web3_sha3", json!([format!("0x{}", hex::encode(signature))]));
        assert_eq!(&hash.as_str().expect("web3_sha3 answer")[..10], *sel, "selector of {signature}");
    }
}

/// The creation bytecode of `artifact` (0x hex) with every library placeholder of its
/// `linkReferences` replaced by that library's address in `libraries`.
pub fn linked_bytecode(artifact: &Value, libraries: &HashMap<&str, String>) -> String {
    let mut code = artifact["bytecode"].as_str().expect("bytecode").trim_start_matches("0x").to_string();
    for libs in artifact["linkReferences"].as_object().expect("linkReferences").values() {
        for (lib, refs) in libs.as_object().expect("library references") {
            let address = libraries.get(lib.as_str()).unwrap_or_else(|| panic!("{} needs library {lib}", artifact["contractName"]));
            let address = address.trim_start_matches("0x").to_lowercase();
            for r in refs.as_array().expect("reference offsets") {
                let start = r["start"].as_u64().expect("start") as usize * 2;
                assert_eq!(r["length"], 20, "a library reference is an address");
                assert!(code[start..].starts_with("__$"), "no placeholder of {lib} at byte {}", start / 2);
                code.replace_range(start..start + 40, &address);
            }
        }
    }
    assert!(!code.contains("__$"), "{} has unlinked library placeholders", artifact["contractName"]);
    format!("0x{code}")
}

/// One value of an ABI-encoded tuple: a static word (64 hex), or the encoding of a dynamic
/// value (placed in the tail, an offset to it in the head).
pub enum Abi {
    Word(String),
    Dynamic(String),
}

/// The ABI encoding (hex, no 0x) of a tuple of `values`: heads, then tails; offsets count
/// from the tuple's start.
pub fn encode(values: &[Abi]) -> String {
    let head_len = values.len() * 32;
    let (mut head, mut tail) = (String::new(), String::new());
    for v in values {
        match v {
            Abi::Word(w) => {
                assert_eq!(w.len(), 64, "a static value is one word");
                head.push_str(w);
            }
            Abi::Dynamic(t) => {
                head.push_str(&word_u128((head_len + tail.len() / 2) as u128));
                tail.push_str(t);
            }
        }
    }
    head + &tail
}

/// The encoding of a `bytes` / `string`: its length, then the bytes right-padded to words.
pub fn bytes_value(b: &[u8]) -> String {
    let mut hex = hex::encode(b);
    while !hex.len().is_multiple_of(64) {
        hex.push('0');
    }
    format!("{}{hex}", word_u128(b.len() as u128))
}

/// The encoding of an array of `items`: its length, then the items as a tuple.
pub fn array_value(items: &[Abi]) -> String {
    format!("{}{}", word_u128(items.len() as u128), encode(items))
}

/// A word of `amount`, or of `type(uint256).max` (Aave: the whole debt / balance) for `None`.
pub fn amount_word(amount: Option<u128>) -> String {
    amount.map(word_u128).unwrap_or_else(|| "f".repeat(64))
}

/// The address in an ABI word (0x hex, lower case).
fn word_to_addr(word: &str) -> String {
    format!("0x{}", &word[24..64])
}

/// A uint word as a number, `u128::MAX` when it does not fit (e.g. a health factor of
/// `type(uint256).max`).
fn word_to_u128(word: &str) -> u128 {
    if word[..32].chars().any(|c| c != '0') {
        return u128::MAX;
    }
    u128::from_str_radix(&word[32..64], 16).expect("uint word")
}

/// `eth_call` of `data` on `to` at `block` (a tag or 0x number): the answer's words.
fn call_words(node: &Node, to: &str, data: &str, block: &str) -> Vec<String> {
    let out = node.rpc("eth_call", json!([{"to": to, "data": data}, block]));
    let hex = out.as_str().expect("eth_call answer").trim_start_matches("0x");
    assert!(hex.len().is_multiple_of(64) && !hex.is_empty(), "eth_call of {data} on {to} answered 0x{hex}");
    (0..hex.len() / 64).map(|i| hex[i * 64..(i + 1) * 64].to_string()).collect()
}

/// A returned `string` (the only return value) as text.
fn call_string(node: &Node, to: &str, data: &str) -> String {
    let words = call_words(node, to, data, "latest");
    let len = word_to_u128(&words[1]) as usize;
    let bytes = hex::decode(words[2..].concat()).expect("string bytes");
    String::from_utf8(bytes[..len].to_vec()).expect("utf-8 string")
}

/// Aave v3 on one anvil; deployer, admin (ACL, pool and risk admin), owner of the
/// addresses provider and treasury: dev account 0.
pub struct AaveV3 {
    /// The `Pool` proxy: supply, borrow, repay, withdraw, getUserAccountData.
    pub pool: String,
    pub addresses_provider: String,
    pub acl_manager: String,
    /// The `PoolConfigurator` proxy.
    pub pool_configurator: String,
    /// `AaveOracle`, base currency USD with 8 decimals.
    pub oracle: String,
    /// `AaveProtocolDataProvider`.
    pub data_provider: String,
    pub interest_rate_strategy: String,
    /// (asset, its `MockAggregator` price source), in the order given to [`AaveV3::deploy`].
    pub price_sources: Vec<(String, String)>,
    /// The logic libraries linked into `Pool` and `PoolConfigurator`: (name, address).
    pub libraries: Vec<(String, String)>,
    pub treasury: String,
}

impl AaveV3 {
    /// Deploy the market with one reserve per `(token, price)` (price: USD with 8 decimals).
    pub fn deploy(node: &Node, assets: &[(&str, u128)]) -> AaveV3 {
        verify_selectors(node);
        let admin = DEV_ACCOUNTS[0];
        let send = |to: &str, signature: &str, args: String| {
            node.exec(json!({"from": admin, "to": to, "data": format!("{}{args}", selector(signature))}));
        };
        let read_addr = |to: &str, signature: &str| word_to_addr(&call_words(node, to, selector(signature), "latest")[0]);
        let deploy = |name: &str, args: String| node.deploy(&format!("{}{args}", linked_bytecode(&artifact(name), &HashMap::new())), admin);

        // The registry and the access control.
        let provider = deploy("PoolAddressesProvider", encode(&[Abi::Dynamic(bytes_value(b"WAIaaS anvil market")), Abi::Word(word_addr(admin))]));
        send(&provider, "setACLAdmin(address)", word_addr(admin));
        let acl_manager = deploy("ACLManager", word_addr(&provider));
        send(&provider, "setACLManager(address)", word_addr(&acl_manager));
        send(&acl_manager, "addPoolAdmin(address)", word_addr(admin));
        send(&acl_manager, "addRiskAdmin(address)", word_addr(admin));

        // The logic libraries (FlashLoanLogic calls BorrowLogic), then the implementations
        // linked to them; the provider puts each behind a proxy and initializes it.
        let mut libraries: HashMap<&str, String> = HashMap::new();
        for name in ["SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic", "PoolLogic", "FlashLoanLogic", "ConfiguratorLogic"] {
            let address = node.deploy(&linked_bytecode(&artifact(name), &libraries), admin);
            libraries.insert(name, address);
        }
        let pool_impl = node.deploy(&format!("{}{}", linked_bytecode(&artifact("Pool"), &libraries), word_addr(&provider)), admin);
        send(&provider, "setPoolImpl(address)", word_addr(&pool_impl));
        let pool = read_addr(&provider, "getPool()");
        let configurator_impl = node.deploy(&linked_bytecode(&artifact("PoolConfigurator"), &libraries), admin);
        send(&provider, "setPoolConfiguratorImpl(address)", word_addr(&configurator_impl));
        let pool_configurator = read_addr(&provider, "getPoolConfigurator()");

        // Prices: one MockAggregator per asset, read through AaveOracle (base currency USD:
        // address 0, unit 1e8).
        let price_sources: Vec<(String, String)> =
            assets.iter().map(|(asset, price)| (asset.to_string(), deploy("MockAggregator", word_u128(*price)))).collect();
        let asset_words: Vec<Abi> = price_sources.iter().map(|(a, _)| Abi::Word(word_addr(a))).collect();
        let source_words: Vec<Abi> = price_sources.iter().map(|(_, s)| Abi::Word(word_addr(s))).collect();
        let oracle_args = encode(&[
            Abi::Word(word_addr(&provider)),
            Abi::Dynamic(array_value(&asset_words)),
            Abi::Dynamic(array_value(&source_words)),
            Abi::Word(word_addr("0x0")),
            Abi::Word(word_addr("0x0")),
            Abi::Word(word_u128(10u128.pow(8))),
        ]);
        let oracle = deploy("AaveOracle", oracle_args);
        send(&provider, "setPriceOracle(address)", word_addr(&oracle));
        let data_provider = deploy("AaveProtocolDataProvider", word_addr(&provider));
        send(&provider, "setPoolDataProvider(address)", word_addr(&data_provider));

        // The reserves' token implementations (bound to the pool proxy) and rate strategy.
        let a_token_impl = deploy("AToken", word_addr(&pool));
        let stable_debt_impl = deploy("StableDebtToken", word_addr(&pool));
        let variable_debt_impl = deploy("VariableDebtToken", word_addr(&pool));
        let strategy_args = [
            word_addr(&provider),
            word_u128(OPTIMAL_USAGE_RATIO),
            word_u128(0),
            word_u128(VARIABLE_RATE_SLOPE1),
            word_u128(VARIABLE_RATE_SLOPE2),
            word_u128(2 * RAY / 100),  // stable rate slope 1
            word_u128(75 * RAY / 100), // stable rate slope 2
            word_u128(2 * RAY / 100),  // base stable rate offset
            word_u128(5 * RAY / 100),  // stable rate excess offset
            word_u128(2 * RAY / 10),   // optimal stable to total debt ratio
        ]
        .concat();
        let interest_rate_strategy = deploy("DefaultReserveInterestRateStrategy", strategy_args);

        // initReserves(InitReserveInput[]), one tuple per asset, fields in the ABI's order.
        let treasury = admin.to_string();
        let inputs: Vec<Abi> = assets
            .iter()
            .map(|(asset, _)| {
                let decimals = word_to_u128(&call_words(node, asset, selector("decimals()"), "latest")[0]);
                let symbol = call_string(node, asset, selector("symbol()"));
                let text = |s: String| Abi::Dynamic(bytes_value(s.as_bytes()));
                Abi::Dynamic(encode(&[
                    Abi::Word(word_addr(&a_token_impl)),
                    Abi::Word(word_addr(&stable_debt_impl)),
                    Abi::Word(word_addr(&variable_debt_impl)),
                    Abi::Word(word_u128(decimals)),
                    Abi::Word(word_addr(&interest_rate_strategy)),
                    Abi::Word(word_addr(asset)),
                    Abi::Word(word_addr(&treasury)),
                    Abi::Word(word_addr("0x0")), // no incentives controller
                    text(format!("Aave anvil {symbol}")),
                    text(format!("a{symbol}")),
                    text(format!("Aave anvil variable debt {symbol}")),
                    text(format!("variableDebt{symbol}")),
                    text(format!("Aave anvil stable debt {symbol}")),
                    text(format!("stableDebt{symbol}")),
                    Abi::Dynamic(bytes_value(b"")), // params
                ]))
            })
            .collect();
        send(
            &pool_configurator,
            "initReserves((address,address,address,uint8,address,address,address,address,string,string,string,string,string,string,bytes)[])",
            encode(&[Abi::Dynamic(array_value(&inputs))]),
        );
        for (asset, _) in assets {
            let collateral = [word_addr(asset), word_u128(LTV), word_u128(LIQUIDATION_THRESHOLD), word_u128(LIQUIDATION_BONUS)].concat();
            send(&pool_configurator, "configureReserveAsCollateral(address,uint256,uint256,uint256)", collateral);
            send(&pool_configurator, "setReserveBorrowing(address,bool)", format!("{}{}", word_addr(asset), word_u128(1)));
        }

        let libraries = libraries.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        AaveV3 {
            pool,
            addresses_provider: provider,
            acl_manager,
            pool_configurator,
            oracle,
            data_provider,
            interest_rate_strategy,
            price_sources,
            libraries,
            treasury,
        }
    }

    /// `getUserAccountData(user)` at the latest block: totalCollateralBase, totalDebtBase,
    /// availableBorrowsBase (USD, 8 decimals), currentLiquidationThreshold, ltv (basis
    /// points), healthFactor (18 decimals; `u128::MAX` for `type(uint256).max`, no debt).
    pub fn user_account_data(&self, node: &Node, user: &str) -> [u128; 6] {
        self.user_account_data_at(node, user, "latest")
    }

    /// [`AaveV3::user_account_data`] at `block` (a tag or a 0x block number): at a
    /// transaction's block its state and timestamp, so no interest accrued since.
    pub fn user_account_data_at(&self, node: &Node, user: &str, block: &str) -> [u128; 6] {
        let words = call_words(node, &self.pool, &format!("{}{}", selector("getUserAccountData(address)"), word_addr(user)), block);
        assert_eq!(words.len(), 6, "getUserAccountData answered {words:?}");
        std::array::from_fn(|i| word_to_u128(&words[i]))
    }

    /// The reserve's (aToken, stableDebtToken, variableDebtToken), from the data provider.
    pub fn reserve_tokens(&self, node: &Node, asset: &str) -> [String; 3] {
        let words = call_words(node, &self.data_provider, &format!("{}{}", selector("getReserveTokensAddresses(address)"), word_addr(asset)), "latest");
        let tokens: [String; 3] = std::array::from_fn(|i| word_to_addr(&words[i]));
        assert!(!tokens[0].ends_with(&"0".repeat(40)), "{asset} is not a reserve");
        tokens
    }

    /// The aToken of `asset`'s reserve.
    pub fn a_token(&self, node: &Node, asset: &str) -> String {
        self.reserve_tokens(node, asset)[0].clone()
    }

    /// The variable debt token of `asset`'s reserve.
    pub fn variable_debt_token(&self, node: &Node, asset: &str) -> String {
        self.reserve_tokens(node, asset)[2].clone()
    }

    /// `getReserveData(asset)`'s (currentLiquidityRate, currentVariableBorrowRate), rays a year.
    pub fn rates(&self, node: &Node, asset: &str) -> (u128, u128) {
        let words = call_words(node, &self.pool, &format!("{}{}", selector("getReserveData(address)"), word_addr(asset)), "latest");
        // ((configuration), liquidityIndex, currentLiquidityRate, variableBorrowIndex, currentVariableBorrowRate, ...)
        (word_to_u128(&words[2]), word_to_u128(&words[4]))
    }

    /// `symbol()` of an ERC-20 (e.g. a reserve's aToken: `a<SYMBOL>`).
    pub fn symbol(&self, node: &Node, token: &str) -> String {
        call_string(node, token, selector("symbol()"))
    }

    /// The oracle's price of `asset` (USD, 8 decimals).
    pub fn price(&self, node: &Node, asset: &str) -> u128 {
        node.call_u128(&self.oracle, &format!("{}{}", selector("getAssetPrice(address)"), word_addr(asset)))
    }

    /// Calldata of `supply(asset, amount, on_behalf_of, referralCode 0)`.
    pub fn supply(&self, asset: &str, amount: u128, on_behalf_of: &str) -> String {
        format!("{}{}{}{}{}", selector("supply(address,uint256,address,uint16)"), word_addr(asset), word_u128(amount), word_addr(on_behalf_of), word_u128(0))
    }

    /// Calldata of `borrow(asset, amount, 2 (variable rate), referralCode 0, on_behalf_of)`.
    pub fn borrow(&self, asset: &str, amount: u128, on_behalf_of: &str) -> String {
        let args = [word_addr(asset), word_u128(amount), word_u128(2), word_u128(0), word_addr(on_behalf_of)].concat();
        format!("{}{args}", selector("borrow(address,uint256,uint256,uint16,address)"))
    }

    /// Calldata of `repay(asset, amount, 2 (variable rate), on_behalf_of)`; `None`: the whole debt.
    pub fn repay(&self, asset: &str, amount: Option<u128>, on_behalf_of: &str) -> String {
        let args = [word_addr(asset), amount_word(amount), word_u128(2), word_addr(on_behalf_of)].concat();
        format!("{}{args}", selector("repay(address,uint256,uint256,address)"))
    }

    /// Calldata of `withdraw(asset, amount, to)`; `None`: the whole balance.
    pub fn withdraw(&self, asset: &str, amount: Option<u128>, to: &str) -> String {
        format!("{}{}{}{}", selector("withdraw(address,uint256,address)"), word_addr(asset), amount_word(amount), word_addr(to))
    }
}
