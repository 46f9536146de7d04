//! The bookkeeping every submission rule shares: where a value sits (its API path) and a
//! checker that records each failure once, under that path.

use crate::{FieldError, ValidationErrors};

/// Where a value sits in the submission, spelled as the API names it:
/// `residential_address.subdivision`, `identifying_information[0].number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct At(String);

impl At {
    /// The body itself.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// A field of the object at `self`.
    pub fn field(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    /// An item of the array at `self`.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Records failures into a [`ValidationErrors`]. A field that already has an error (the
/// JSON reader found it was not a string, say, and passed it on as missing) gets no second
/// one, so the client reads the first and truest reason.
pub(crate) struct Checker<'a> {
    errors: &'a mut ValidationErrors,
}

impl<'a> Checker<'a> {
    /// A checker adding to `errors`.
    pub fn new(errors: &'a mut ValidationErrors) -> Self {
        Self { errors }
    }

    /// Records that the value at `at` is wrong, unless a failure is already recorded for
    /// it or for what contains it (an item that was not even an object has no fields to
    /// blame).
    pub fn report(&mut self, at: &At, message: impl Into<String>) {
        if !self.covered(at) {
            self.errors.push(FieldError::new(at.as_str(), message));
        }
    }

    /// Whether a failure is recorded at `at` or at something containing it.
    fn covered(&self, at: &At) -> bool {
        let at = at.as_str();
        self.errors.errors().iter().any(|e| {
            let field = e.field.as_str();
            at == field
                || at
                    .strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }

    /// Whether a failure is recorded at `at` or anywhere in it or around it: a value the
    /// reader already found wrong is passed on as missing, and must not be called missing.
    pub fn failed(&self, at: &At) -> bool {
        let path = at.as_str();
        self.covered(at)
            || self.errors.errors().iter().any(|e| {
                e.field
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
    }

    /// A required value: `None` is recorded as missing (unless the reader already said
    /// what was wrong with it).
    pub fn required<T>(&mut self, at: &At, value: Option<T>) -> Option<T> {
        if value.is_none() && !self.failed(at) {
            self.report(at, "is required");
        }
        value
    }

    /// The value of `result`, or its message recorded at `at`.
    pub fn check<T>(&mut self, at: &At, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.report(at, message);
                None
            }
        }
    }

    /// A required text parsed by `parse`.
    pub fn parse<T>(
        &mut self,
        at: &At,
        raw: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.required(at, raw)?;
        self.check(at, parse(&raw))
    }

    /// An optional text parsed by `parse`: `Some(None)` when absent, `None` when invalid.
    pub fn parse_optional<T>(
        &mut self,
        at: &At,
        raw: Option<String>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match raw {
            None if self.failed(at) => None,
            None => Some(None),
            Some(raw) => self.check(at, parse(&raw)).map(Some),
        }
    }

    /// A required list of `min..=max` items, each checked by `item` at its index.
    pub fn list<I, T>(
        &mut self,
        at: &At,
        items: Option<Vec<I>>,
        (min, max): (usize, usize),
        mut item: impl FnMut(&mut Self, &At, I) -> Option<T>,
    ) -> Option<Vec<T>> {
        let items = self.required(at, items)?;
        if items.len() < min {
            self.report(at, format!("must have at least {min} item(s)"));
            return None;
        }
        if items.len() > max {
            self.report(at, format!("must have at most {max} items"));
            return None;
        }
        let checked: Vec<Option<T>> = items
            .into_iter()
            .enumerate()
            .map(|(i, value)| item(self, &at.index(i), value))
            .collect();
        checked.into_iter().collect()
    }
}

/// Trimmed text of `min..=max` characters without control or invisible formatting
/// characters.
pub(crate) fn text(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let trimmed = raw.trim();
    let length = trimmed.chars().count();
    if length == 0 {
        return Err("must not be empty".into());
    }
    if length < min {
        return Err(format!("must be at least {min} characters"));
    }
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    crate::text::check_name_characters(trimmed)?;
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_spelled_as_the_api_names_them() {
        let at = At::root().field("identifying_information").index(0);
        assert_eq!(
            at.field("number").as_str(),
            "identifying_information[0].number"
        );
        assert_eq!(At::root().field("x").as_str(), "x");
    }

    #[test]
    fn a_field_is_reported_once_with_its_first_reason() {
        let mut errors = ValidationErrors::new();
        errors.push(FieldError::new("a", "must be a string"));
        let mut check = Checker::new(&mut errors);
        assert_eq!(check.required::<String>(&At::root().field("a"), None), None);
        assert_eq!(
            check.parse_optional(&At::root().field("a"), None, |s| Ok(s.to_owned())),
            None
        );
        assert_eq!(
            check.parse_optional(&At::root().field("b"), None, |s| Ok(s.to_owned())),
            Some(None)
        );
        assert_eq!(errors.errors(), [FieldError::new("a", "must be a string")]);
    }

    #[test]
    fn nothing_inside_a_value_the_reader_refused_is_reported_again() {
        let mut errors = ValidationErrors::new();
        errors.push(FieldError::new("list[1]", "must be an object"));
        errors.push(FieldError::new("other[0].x", "must be a string"));
        let mut check = Checker::new(&mut errors);
        let list = At::root().field("list");
        check.report(&list.index(1).field("type"), "is required");
        check.report(&list.index(10).field("type"), "is required");
        assert_eq!(
            check.required::<Vec<()>>(&At::root().field("other"), None),
            None
        );
        assert_eq!(
            errors
                .errors()
                .iter()
                .map(|e| e.field.as_str())
                .collect::<Vec<_>>(),
            ["list[1]", "other[0].x", "list[10].type"]
        );
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("  ab ", 2, 3), Ok("ab".into()));
        assert!(text("a", 2, 3).is_err());
        assert!(text("abcd", 2, 3).is_err());
        assert!(text("   ", 1, 3).is_err());
        assert!(text("a\u{202E}b", 1, 9).is_err());
    }
}
