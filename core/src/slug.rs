//! A plugin's slug, checked once: the only value a path is built from.
//!
//! The type lives in `plugboard-manifest` ([`plugboard_manifest::slug`]),
//! which manifests and catalogs are read with; this path keeps the host's
//! imports.
//!
//! Every folder derived from a slug (`plugins/<slug>`, `previous/<slug>`,
//! staging and trash names) is built by a function taking `&Slug`
//! ([`crate::RuntimeConfig::plugin_dir`] and its neighbours), so the
//! compiler proves the check happened. Deserializing validates too, so a
//! catalog entry, a manifest or an admin path parameter holding a bad slug
//! is refused where it is read.
//!
//! ```
//! use plugboard_core::slug::Slug;
//! let slug: Slug = "guestbook".parse().unwrap();
//! assert_eq!(slug.as_str(), "guestbook");
//! assert!("../x".parse::<Slug>().is_err());
//! ```

pub use plugboard_manifest::slug::{Slug, SlugError, MAX_LEN};
