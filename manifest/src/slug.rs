//! A plugin's slug, checked once: the only value a path is built from.
//!
//! A slug is lower-case ASCII letters, digits and single `-` between them,
//! starting with a letter, at most [`MAX_LEN`] bytes. So it is one plain
//! path component everywhere: never empty, never `.` or `..`, no `/` or
//! `\`, no `%` (percent-encoding), no NUL, no Unicode look-alikes. (`--` and
//! a trailing `-` are refused so that SQL table prefixes,
//! `plugin_{slug with _}__`, are unambiguous.)
//!
//! Every folder the host derives from a slug (`plugins/<slug>`,
//! `previous/<slug>`, staging and trash names) is built by a function taking
//! `&Slug` (`plugboard_core::RuntimeConfig::plugin_dir` and its
//! neighbours), so the compiler proves the check happened. Deserializing validates too, so a
//! catalog entry, a manifest or an admin path parameter holding a bad slug
//! is refused where it is read.
//!
//! ```
//! use plugboard_manifest::Slug;
//! let slug: Slug = "guestbook".parse().unwrap();
//! assert_eq!(slug.as_str(), "guestbook");
//! for bad in ["", "../x", "/etc", "%2Fetc", "Guestbook", "a--b", "a-", "gu\u{0435}stbook"] {
//!     assert!(bad.parse::<Slug>().is_err(), "{bad:?}");
//! }
//! ```

use std::{borrow::Borrow, fmt, ops::Deref, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest slug, in bytes.
pub const MAX_LEN: usize = 40;

/// A valid plugin slug (see the module docs). `{:?}` shows it as a
/// quoted string, like the `String` it replaces in messages.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Why a text is not a slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("slug {shown:?} is not valid: {why} (lower-case letters, digits and single '-', starting with a letter, at most 40)")]
pub struct SlugError {
    /// The text refused, cut to 64 characters.
    pub shown: String,
    /// The rule it breaks.
    pub why: &'static str,
}

/// The first rule `text` breaks, if any.
fn check(text: &str) -> Result<(), &'static str> {
    let first = text.chars().next().ok_or("it is empty")?;
    if text.len() > MAX_LEN {
        return Err("it is longer than 40 bytes");
    }
    if !first.is_ascii_lowercase() {
        return Err("it does not start with a lower-case letter");
    }
    if let Some(c) = text
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Err(if c == '/' || c == '\\' {
            "it holds a path separator"
        } else if c == '%' {
            "it holds '%' (percent-encoding)"
        } else if c == '.' {
            "it holds '.'"
        } else if !c.is_ascii() {
            "it holds a character outside a-z, 0-9 and '-'"
        } else {
            "it holds a character other than a-z, 0-9 and '-'"
        });
    }
    if text.contains("--") {
        return Err("it holds '--'");
    }
    if text.ends_with('-') {
        return Err("it ends with '-'");
    }
    Ok(())
}

impl Slug {
    /// Checks `text`.
    pub fn parse(text: &str) -> Result<Slug, SlugError> {
        check(text).map_err(|why| SlugError {
            shown: text.chars().take(64).collect(),
            why,
        })?;
        Ok(Slug(text.to_string()))
    }

    /// Whether `text` is a valid slug.
    pub fn is_valid(text: &str) -> bool {
        check(text).is_ok()
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<&str> for Slug {
    type Error = SlugError;
    fn try_from(text: &str) -> Result<Slug, SlugError> {
        Slug::parse(text)
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(text: String) -> Result<Slug, SlugError> {
        check(&text).map_err(|why| SlugError {
            shown: text.chars().take(64).collect(),
            why,
        })?;
        Ok(Slug(text))
    }
}

impl FromStr for Slug {
    type Err = SlugError;
    fn from_str(text: &str) -> Result<Slug, SlugError> {
        Slug::parse(text)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> String {
        slug.0
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for Slug {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

impl Borrow<str> for Slug {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Deref for Slug {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Slug {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Slug {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Slug {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Slug> for str {
    fn eq(&self, other: &Slug) -> bool {
        self == other.0
    }
}

impl PartialEq<Slug> for &str {
    fn eq(&self, other: &Slug) -> bool {
        *self == other.0
    }
}

impl PartialEq<Slug> for String {
    fn eq(&self, other: &Slug) -> bool {
        *self == other.0
    }
}

impl Serialize for Slug {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Slug, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Slug::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Slug {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Slug".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z](-?[a-z0-9])*$",
            "maxLength": MAX_LEN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_slugs_pass_and_every_hostile_one_is_refused_with_its_reason() {
        for ok in [
            "a",
            "guestbook",
            "user-policy2",
            "a1-b2-c3",
            &"a".repeat(40),
        ] {
            assert_eq!(Slug::parse(ok).unwrap().as_str(), ok);
        }
        for (bad, why) in [
            ("", "empty"),
            ("../../x", "does not start"),
            ("x/../../y", "path separator"),
            ("x\\y", "path separator"),
            ("/etc/passwd", "does not start"),
            ("%2Fetc%2Fpasswd", "does not start"),
            ("a%2Fb", "percent"),
            ("a.b", "'.'"),
            ("..", "does not start"),
            ("Guestbook", "does not start"),
            ("guestbooK", "other than"),
            ("gu\u{0435}stbook", "outside"), // Cyrillic е
            ("guestbook\u{200b}", "outside"),
            ("a\0b", "other than"),
            ("a b", "other than"),
            ("a--b", "'--'"),
            ("a-", "ends with"),
            ("1a", "does not start"),
            (&"a".repeat(41), "longer than 40"),
        ] {
            let err = Slug::parse(bad).expect_err(bad);
            assert!(err.why.contains(why), "{bad:?}: {err}");
            assert!(err.to_string().contains("is not valid"), "{err}");
        }
        // A huge text is not echoed whole.
        let err = Slug::parse(&"x/".repeat(10_000)).unwrap_err();
        assert!(err.to_string().len() < 300, "{err}");
    }

    #[test]
    fn serde_validates_both_ways_and_the_schema_has_the_same_rule() {
        let slug: Slug = serde_json::from_str("\"notes\"").unwrap();
        assert_eq!(serde_json::to_string(&slug).unwrap(), "\"notes\"");
        let err = serde_json::from_str::<Slug>("\"..\\/..\\/x\"").unwrap_err();
        assert!(err.to_string().contains("is not valid"), "{err}");
        let schema = serde_json::to_value(schemars::schema_for!(Slug)).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for (text, ok) in [
            ("notes", true),
            ("a-b1", true),
            ("a--b", false),
            ("a-", false),
            ("../x", false),
            ("Ab", false),
        ] {
            assert_eq!(validator.is_valid(&serde_json::json!(text)), ok, "{text}");
            assert_eq!(Slug::is_valid(text), ok, "{text}");
        }
        assert!(!validator.is_valid(&serde_json::json!("a".repeat(41))));
    }
}
