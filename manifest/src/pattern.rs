//! Event names and patterns: the one matcher the host (subscriptions,
//! capability checks) and plugins (`plugboard_plugin_api::event_matches`)
//! share.
//!
//! An event name is dotted words (`user.created`, `plugin.guestbook.signed`;
//! a word is ASCII letters, digits, `_` and `-`). A pattern is `*` (every
//! event), an exact name, or `prefix.*` (every name below `prefix.`).

use std::fmt;

/// A subscription pattern: `*`, an exact name, or `prefix.*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Every event.
    All,
    /// Exactly this name.
    Exact(String),
    /// Names starting with this (including the final dot), with at least
    /// one more character.
    Prefix(String),
}

/// Why a text is not an event pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `prefix.*` whose prefix is not dotted words.
    #[error("bad event pattern {0:?}")]
    Prefix(String),
    /// Neither `*`, `prefix.*` nor a dotted name.
    #[error("bad event pattern {0:?} (names are dotted words; `*` only as `prefix.*` or alone)")]
    Name(String),
}

/// Lets code that collects errors as text (`Result<_, String>`) use `?` on
/// a pattern.
impl From<PatternError> for String {
    fn from(e: PatternError) -> String {
        e.to_string()
    }
}

/// Whether `text` is dotted words.
fn dotted_words(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

impl Pattern {
    /// Parses a pattern.
    ///
    /// ```
    /// use plugboard_manifest::Pattern;
    /// let p = Pattern::parse("user.*").unwrap();
    /// assert!(p.matches("user.created") && !p.matches("users.created") && !p.matches("user"));
    /// assert!(Pattern::parse("user.*.x").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Pattern, PatternError> {
        if s == "*" {
            Ok(Pattern::All)
        } else if let Some(prefix) = s.strip_suffix(".*") {
            if dotted_words(prefix) {
                Ok(Pattern::Prefix(format!("{prefix}.")))
            } else {
                Err(PatternError::Prefix(s.to_string()))
            }
        } else if dotted_words(s) {
            Ok(Pattern::Exact(s.to_string()))
        } else {
            Err(PatternError::Name(s.to_string()))
        }
    }

    /// Whether the event `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Exact(n) => n == name,
            Pattern::Prefix(p) => name.len() > p.len() && name.starts_with(p.as_str()),
        }
    }

    /// Whether every name `wanted` matches is matched by `self` (a declared
    /// subscription capability covering a subscription).
    ///
    /// ```
    /// use plugboard_manifest::Pattern;
    /// let p = |s| Pattern::parse(s).unwrap();
    /// assert!(p("user.*").covers(&p("user.created")));
    /// assert!(p("user.*").covers(&p("user.admin.*")));
    /// assert!(!p("user.created").covers(&p("user.*")));
    /// assert!(!p("user.*").covers(&p("*")));
    /// ```
    pub fn covers(&self, wanted: &Pattern) -> bool {
        match (self, wanted) {
            (Pattern::All, _) => true,
            (_, Pattern::All) => false,
            (Pattern::Exact(d), Pattern::Exact(w)) => d == w,
            (Pattern::Exact(_), Pattern::Prefix(_)) => false,
            (Pattern::Prefix(d), Pattern::Exact(w)) => w.starts_with(d.as_str()),
            (Pattern::Prefix(d), Pattern::Prefix(w)) => w.starts_with(d.as_str()),
        }
    }
}

impl fmt::Display for Pattern {
    /// The pattern as written (`*`, `user.created`, `user.*`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::All => f.write_str("*"),
            Pattern::Exact(n) => f.write_str(n),
            Pattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

/// Whether the event `name` matches the pattern text `pattern`, without
/// building a [`Pattern`]: the same answer as
/// `Pattern::parse(pattern).is_ok_and(|p| p.matches(name))` (a text that is
/// not a pattern matches nothing), with no allocation.
///
/// ```
/// use plugboard_manifest::pattern::matches;
/// assert!(matches("user.*", "user.created") && !matches("user.*", "users.created"));
/// assert!(matches("*", "x") && matches("user.login", "user.login"));
/// assert!(!matches("user.*.x", "user.a.x") && !matches("us er", "us er"));
/// ```
pub fn matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => {
            let with_dot = &pattern[..prefix.len() + 1];
            dotted_words(prefix) && name.len() > with_dot.len() && name.starts_with(with_dot)
        }
        None => dotted_words(pattern) && pattern == name,
    }
}

/// Whether `name` is a valid event name (dotted words, no `*`).
///
/// ```
/// use plugboard_manifest::pattern::is_valid_name;
/// assert!(is_valid_name("user.created") && !is_valid_name("user.*") && !is_valid_name("user."));
/// ```
pub fn is_valid_name(name: &str) -> bool {
    dotted_words(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_and_prefixes() {
        assert!(Pattern::parse("*").unwrap().matches("anything.at.all"));
        let exact = Pattern::parse("plugin.guestbook.signed").unwrap();
        assert!(
            exact.matches("plugin.guestbook.signed") && !exact.matches("plugin.guestbook.signed.x")
        );
        let prefix = Pattern::parse("plugin.guestbook.*").unwrap();
        assert!(
            prefix.matches("plugin.guestbook.signed") && !prefix.matches("plugin.guestbooks.x")
        );
        assert!(
            !prefix.matches("plugin.guestbook."),
            "a prefix pattern needs a name below it"
        );
        for bad in [
            "", "user.", ".user", "user..x", "us er", "user.*.x", "**", "user*",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad:?}");
        }
        assert!(is_valid_name("user.created") && !is_valid_name("user.*"));
    }

    #[test]
    fn matching_text_agrees_with_the_parsed_pattern() {
        let texts = [
            "*",
            "**",
            "user",
            "user.",
            "user.*",
            "user*",
            ".*",
            "a.*.*",
            "user.created",
            "user.created.x",
            "us er",
            "user.*.x",
            "plugin.a-b.*",
            "plugin.a-b.c",
            "",
        ];
        for pattern in texts {
            for name in texts {
                assert_eq!(
                    matches(pattern, name),
                    Pattern::parse(pattern).is_ok_and(|p| p.matches(name)),
                    "{pattern:?} {name:?}"
                );
            }
        }
    }

    #[test]
    fn errors_and_display_read_as_written() {
        assert_eq!(
            Pattern::parse("a b.*").unwrap_err().to_string(),
            "bad event pattern \"a b.*\""
        );
        assert!(Pattern::parse("a b")
            .unwrap_err()
            .to_string()
            .contains("names are dotted words"));
        for text in ["*", "user.created", "user.*"] {
            assert_eq!(Pattern::parse(text).unwrap().to_string(), text);
        }
    }
}
