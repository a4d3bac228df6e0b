//! Skill guides shipped in the binary, served as `waiaas://skills/{name}`.

/// `(name, markdown)`.
pub const SKILLS: &[(&str, &str)] = &[
    ("quickstart", include_str!("../../skills/quickstart.skill.md")),
    ("wallet", include_str!("../../skills/wallet.skill.md")),
    ("transactions", include_str!("../../skills/transactions.skill.md")),
    ("policies", include_str!("../../skills/policies.skill.md")),
];

/// A skill by name (with or without the `.skill.md` suffix).
pub fn get(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches(".skill.md").trim_end_matches(".md");
    SKILLS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_skill_carries_the_master_password_notice() {
        for (name, text) in super::SKILLS {
            assert!(text.contains("AI agents must NEVER request the master password"), "{name}");
        }
        assert!(super::get("quickstart.skill.md").is_some());
        assert!(super::get("nope").is_none());
    }
}
