//! anvil (EVM). Owned by the EVM adapter work.

/// A running anvil.
pub struct Anvil {
    pub url: String,
    child: std::process::Child,
}

impl Anvil {
    pub fn start(_chain_id: u64) -> Anvil {
        unimplemented!("anvil harness not written yet")
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        crate::kill_child(&mut self.child);
    }
}
