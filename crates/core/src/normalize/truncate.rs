//! [`truncate_utf8`]: cuts a message to a byte budget without splitting a character.

/// Cuts `text` to at most `max_bytes` bytes on a UTF-8 character boundary; true when it cut.
///
/// ```
/// let mut s = String::from("héllo");
/// assert!(kev_core::normalize::truncate_utf8(&mut s, 2));
/// assert_eq!(s, "h"); // "é" is two bytes and does not fit
/// ```
pub fn truncate_utf8(text: &mut String, max_bytes: usize) -> bool {
    if text.len() <= max_bytes {
        return false;
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_splits_a_character() {
        let original = "aé€😀".repeat(50);
        for max in 0..original.len() + 2 {
            let mut s = original.clone();
            let cut = truncate_utf8(&mut s, max);
            assert!(s.len() <= max);
            assert_eq!(cut, max < original.len());
            assert!(original.starts_with(&s));
            assert!(max.saturating_sub(s.len()) < 4, "cut too much at {max}");
        }
    }
}
