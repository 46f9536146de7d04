//! The character rule shared by every name a person types: no control characters and no
//! invisible characters that change how the rest of the text is shown or compared.

/// True for invisible formatting characters that let a name look like something else:
/// bidirectional embeddings, overrides, isolates and marks (which can reorder what a reader
/// sees, e.g. `Bob\u{202E}nhoJ` shown as `BobJohn`), zero-width spaces and joiners and the
/// byte-order mark (which make two names that look alike compare unequal), invisible math
/// operators, and tag characters (which can hide whole words).
///
/// The marks U+200E/U+200F and U+061C are refused too: the Unicode bidirectional algorithm
/// already orders a name written in one script, so a name never needs them. The cost is that
/// the zero-width non-joiner (U+200C), which Persian and some Indic spellings use between
/// letters, is refused with the other zero-width characters.
pub(crate) fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Checks a trimmed name's characters; the message says what is wrong.
pub(crate) fn check_name_characters(name: &str) -> Result<(), String> {
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if name.chars().any(is_invisible_formatting) {
        return Err(
            "must not contain invisible formatting characters (bidirectional controls or \
             zero-width characters)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bidirectional_control_and_zero_width_character_is_refused() {
        let refused = [
            '\u{061C}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{E0001}',
            '\u{E007F}',
        ];
        for c in refused {
            let name = format!("Eve{c}Smith");
            let message = check_name_characters(&name).unwrap_err();
            assert!(
                message.contains("invisible"),
                "U+{:04X}: {message}",
                c as u32
            );
        }
    }

    #[test]
    fn letters_of_every_script_and_visible_punctuation_are_accepted() {
        for name in [
            "Emmanuel A Towoju",
            "Zoë O'Brien-Łukasiewicz",
            "محمد عبد الله",
            "דוד כהן",
            "山田 太郎",
            "Ærøskøbing Fisk A/S",
            "Jean\u{2011}Luc",
        ] {
            assert_eq!(check_name_characters(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn control_characters_get_their_own_message() {
        assert_eq!(
            check_name_characters("a\u{7}b"),
            Err("must not contain control characters".into())
        );
    }
}
