//! Deterministic placeholder replies: the same prompt always gets the same text, and the
//! text says plainly that it is a placeholder.

/// FNV-1a, for a short stable fingerprint of the prompt.
pub(crate) fn fingerprint(parts: &[&str]) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash ^ (hash >> 32)) as u32
}

/// The placeholder reply to a prompt: a fingerprint of the prompt and its first words.
pub fn placeholder(system: Option<&str>, prompt: &str) -> String {
    const MAX_CHARS: usize = 60;
    let id = fingerprint(&[system.unwrap_or(""), prompt]);
    let words: String = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    let excerpt = match words.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &words[..cut]),
        None => words,
    };
    format!("[mock reply {id:08x}] placeholder text for: {excerpt}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_prompt_same_reply_and_different_prompt_different_reply() {
        assert_eq!(placeholder(None, "hello"), placeholder(None, "hello"));
        assert_ne!(placeholder(None, "hello"), placeholder(None, "hello!"));
        assert_ne!(
            placeholder(Some("sys"), "hello"),
            placeholder(None, "hello")
        );
    }

    #[test]
    fn long_prompts_are_cut() {
        let reply = placeholder(None, &"word ".repeat(100));
        assert!(reply.len() < 120 && reply.ends_with("..."), "{reply}");
        assert!(reply.starts_with("[mock reply "));
    }
}
