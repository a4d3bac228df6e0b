//! solana-test-validator. Owned by the Solana adapter work.

/// A running validator.
pub struct Validator {
    pub url: String,
    child: std::process::Child,
}

impl Validator {
    pub fn start() -> Validator {
        unimplemented!("validator harness not written yet")
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        crate::kill_child(&mut self.child);
    }
}
